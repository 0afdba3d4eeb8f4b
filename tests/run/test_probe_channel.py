"""The probe channel is closed while a run's processes may still be connecting (a fork bomb
connects from every child): closing never fails, and keeps what was received."""

import socket
import threading
import time

from grader.run import probe_channel
from grader.run.probe_channel import ProbeChannel


class SlowStart(threading.Thread):
    """A thread that takes a while to start, as on a machine a fork bomb is loading."""

    def start(self):
        time.sleep(0.5)
        super().start()


def test_closing_while_a_connection_is_being_taken_never_fails(tmp_path, monkeypatch):
    channel = ProbeChannel(tmp_path / "probe.sock", tmp_path / "probe")
    channel.__enter__()
    monkeypatch.setattr(probe_channel.threading, "Thread", SlowStart)  # the reader threads from now on
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(tmp_path / "probe.sock"))
        client.sendall(b'{"event": "hello"}\n')
    time.sleep(0.2)  # the channel has taken the connection and is starting its reader
    channel.close()  # raised "cannot join thread before it is started" when it joined that reader
    assert channel.connections == 1
    assert [p.read_bytes() for p in (tmp_path / "probe").glob("probe-*.jsonl")] == [b'{"event": "hello"}\n']
