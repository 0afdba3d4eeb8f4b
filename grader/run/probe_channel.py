"""The channel the probe's record reaches the grader by: a Unix socket that the probe in every
Python process of the run connects to, read by the grader as the run goes.

A file the run can write could be deleted and forged after the fact; what was sent over a
connection is already on the grader's side, in a folder the run cannot reach. Each connection is
kept in its own file, probe-PID-N.jsonl, named by the peer's pid as the kernel reports it
(SO_PEERCRED, as the process knows itself in the sandbox's PID namespace), so the reader can
tell a record that claims another process's pid. Sizes are bounded.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import threading
from pathlib import Path

from grader.run import unix_socket

SOCKET_ENV = "GRADER_PROBE_SOCKET"
MAX_BYTES = 512 * 1024**2  # the whole record of one run; RoBERTa-large snapshots are ~40 KB each
JOIN_SECONDS = 5.0


def namespace_pid(pid: int) -> int:
    """The pid a process has in its own (innermost) PID namespace, as the kernel lists it in
    /proc/PID/status: what a sandboxed process knows itself by."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return pid


class ProbeChannel:
    """Listen on `path`; write what each connection sends to `dest`/probe-PID-N.jsonl."""

    def __init__(self, path: Path, dest: Path, max_bytes: int = MAX_BYTES):
        self.path, self.dest, self.max_bytes = Path(path), Path(dest), max_bytes
        self.received = 0
        self.connections = 0
        self.truncated = False
        self._lock = threading.Lock()
        self._readers: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def __enter__(self) -> ProbeChannel:
        shutil.rmtree(self.dest, ignore_errors=True)  # never mix in an earlier grading's record
        self.dest.mkdir(parents=True)
        unix_socket.bind(self._server, self.path)  # a short address that shows the run nothing of the host
        os.chmod(self.path, 0o777)  # the run's own uid connects; the folder it lies in is read-only to it
        self._server.listen(64)
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting; give the readers a moment to drain, then cut what is still open (a
        process that outlived the run must not keep writing)."""
        try:
            self._server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._server.close()
        self._acceptor.join(JOIN_SECONDS)  # no reader is added after this
        for reader in list(self._readers):
            reader.join(JOIN_SECONDS)
        for connection in self._connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for reader in list(self._readers):
            reader.join(JOIN_SECONDS)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self._connections.append(connection)
            reader = threading.Thread(target=self._read, args=(connection,), daemon=True)
            reader.start()  # listed only once started: close() may be joining the list meanwhile
            self._readers.append(reader)

    def _read(self, connection: socket.socket) -> None:
        pid, _uid, _gid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        pid = namespace_pid(pid)
        with self._lock:
            self.connections += 1
            name = f"probe-{pid}-{self.connections}.jsonl"  # a process that execs connects again under its pid
        with connection, open(self.dest / name, "wb") as out:
            while True:
                try:
                    chunk = connection.recv(1 << 16)
                except OSError:
                    return
                if not chunk:
                    return
                with self._lock:
                    room = self.max_bytes - self.received
                    self.received += min(room, len(chunk))
                    if len(chunk) > room:
                        self.truncated = True
                if room <= 0:
                    return
                out.write(chunk[:room])
                out.flush()
