"""The channel the probe's record reaches the grader by: a Unix socket that the probe in every
Python process of the run connects to, read by the grader as the run goes.

A file the run can write could be deleted and forged after the fact; what was sent over a
connection is already on the grader's side, in a folder the run cannot reach. Each connection is
kept in its own file, probe-PID-N.jsonl, named by the peer's pid as the kernel reports it
(SO_PEERCRED, translated to the pid the process has in the sandbox's PID namespace), so the
reader can tell a record that claims another process's pid.

The translation reads /proc while the peer is alive: the acceptor looks the pid up before
anything else, then sends one byte (ACK); the probe sends nothing before that byte arrives, so an
honest process cannot exit (and be reaped) before it is known. A peer gone before the lookup is
filed as probe-unknown-N, and anything it sent is distrusted by the reader.

Everything stored is bounded: the length of a line, the lines and bytes of one connection and of
the whole run, the number of connections. Past a bound the channel stops storing and says so in
CHANNEL_FILE (written by the grader, never by the run), which makes the record truncated.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

from grader.run import unix_socket

SOCKET_ENV = "GRADER_PROBE_SOCKET"
ACK = b"\x06"  # the grader knows this connection's pid: the probe may send
CHANNEL_FILE = "channel.json"  # what the channel itself observed: counts and why it stopped storing
UNKNOWN = "unknown"  # the file-name pid of a peer that exited before it could be looked up
JOIN_SECONDS = 5.0


@dataclass(frozen=True)
class Limits:
    """What one run may store. An honest RoBERTa-large run sends a ~50 KB snapshot every 5 s or
    more and one short line per training step: a few MB and tens of thousands of lines an hour."""

    line_bytes: int = 1024**2
    connection_bytes: int = 48 * 1024**2
    connection_lines: int = 200_000
    run_bytes: int = 64 * 1024**2
    run_lines: int = 400_000
    connections: int = 4096


def namespace_pid(pid: int) -> int | None:
    """The pid a process has in its own (innermost) PID namespace, as the kernel lists it in
    /proc/PID/status: what a sandboxed process knows itself by. None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except (OSError, ValueError, IndexError):
        pass
    return None


class ProbeChannel:
    """Listen on `path`; write what each connection sends to `dest`/probe-PID-N.jsonl."""

    def __init__(self, path: Path, dest: Path, limits: Limits = Limits()):
        self.path, self.dest, self.limits = Path(path), Path(dest), limits
        self.received = 0
        self.lines = 0
        self.connections = 0
        self.truncated: list[str] = []  # why storing stopped, once per reason
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
        process that outlived the run must not keep writing); note what the channel saw."""
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
        with self._lock:
            seen = {"connections": self.connections, "bytes": self.received, "lines": self.lines, "truncated": list(self.truncated)}
        (self.dest / CHANNEL_FILE).write_text(json.dumps(seen))

    def _stop_storing(self, why: str) -> None:
        with self._lock:
            if why not in self.truncated:
                self.truncated.append(why)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                full = self.connections >= self.limits.connections
                if not full:
                    self.connections += 1
                number = self.connections
            if full:
                self._stop_storing(f"more than {self.limits.connections} connections")
                connection.close()
                continue
            pid = self._peer(connection)  # first, while the peer waits for ACK
            try:
                connection.sendall(ACK)
            except OSError:
                pass  # it left already; what it sent is still read
            self._connections.append(connection)
            name = f"probe-{UNKNOWN if pid is None else pid}-{number}.jsonl"  # a process that execs connects again
            reader = threading.Thread(target=self._read, args=(connection, name), daemon=True)
            reader.start()  # listed only once started: close() may be joining the list meanwhile
            self._readers.append(reader)

    @staticmethod
    def _peer(connection: socket.socket) -> int | None:
        try:
            pid, _uid, _gid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        except OSError:
            return None
        return namespace_pid(pid) if pid > 0 else None

    def _read(self, connection: socket.socket, name: str) -> None:
        limits = self.limits
        stored = lines = line_length = 0
        with connection, open(self.dest / name, "wb") as out:
            while True:
                try:
                    chunk = connection.recv(1 << 16)
                except OSError:
                    return
                if not chunk:
                    return
                parts = chunk.split(b"\n")
                newlines = len(parts) - 1
                longest = max(line_length + len(parts[0]), max(map(len, parts[1:]), default=0))
                line_length = len(parts[-1]) if newlines else line_length + len(chunk)
                why = None
                if longest > limits.line_bytes:
                    why = f"a line over {limits.line_bytes:,} bytes ({name})"
                elif stored + len(chunk) > limits.connection_bytes:
                    why = f"more than {limits.connection_bytes:,} bytes on one connection ({name})"
                elif lines + newlines > limits.connection_lines:
                    why = f"more than {limits.connection_lines:,} lines on one connection ({name})"
                with self._lock:
                    if why is None and self.received + len(chunk) > limits.run_bytes:
                        why = f"more than {limits.run_bytes:,} bytes in the run"
                    elif why is None and self.lines + newlines > limits.run_lines:
                        why = f"more than {limits.run_lines:,} lines in the run"
                    if why is None:
                        self.received += len(chunk)
                        self.lines += newlines
                if why is not None:
                    self._stop_storing(why)  # nothing more from this connection: what is kept ends cleanly
                    return
                stored += len(chunk)
                lines += newlines
                out.write(chunk)
                out.flush()
