"""The probe channel is closed while a run's processes may still be connecting (a fork bomb
connects from every child): closing never fails, and keeps what was received."""

import socket
import threading

from grader.run import probe_channel
from grader.run.probe_channel import ProbeChannel
from tests.helpers import wait_for


def test_closing_while_a_connection_is_being_taken_never_fails(tmp_path, monkeypatch):
    channel = ProbeChannel(tmp_path / "probe.sock", tmp_path / "probe")
    channel.__enter__()
    starting = threading.Event()

    class StartsOnceClosing(threading.Thread):
        """A reader thread that starts only once close() has begun, as on a machine a fork bomb is
        loading: the race close() must survive, made certain instead of likely."""

        def start(self):
            starting.set()
            wait_for(lambda: channel._server.fileno() == -1, 60, "close() to close the listening socket")
            super().start()

    monkeypatch.setattr(probe_channel.threading, "Thread", StartsOnceClosing)  # the reader threads from now on
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(tmp_path / "probe.sock"))
        client.sendall(b'{"event": "hello"}\n')
    assert starting.wait(60), "the channel never took the connection"
    channel.close()  # raised "cannot join thread before it is started" when it joined that reader
    assert channel.connections == 1
    assert [p.read_bytes() for p in (tmp_path / "probe").glob("probe-*.jsonl")] == [b'{"event": "hello"}\n']
