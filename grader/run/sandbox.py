"""The limits of a student run, its captured output, and how its processes are ended.

With the sandbox (jail.py) every process of the run lives in one PID namespace: the run is over
when that namespace is empty, and ending it is killing its init. Without it (--unsafe-no-sandbox)
the run's processes are found by their process group or a token in their environment, as a
best effort: a process that drops the token escapes. In a disposable container the grader (root)
starts the run as a uid of its own: every process of that uid is the run's, and all are ended.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TOKEN_VAR = "GRADER_SANDBOX_TOKEN"
ATTEMPT_VAR = "GRADER_ATTEMPT_TOKEN"  # set by a batch for one student's attempt; every run of it carries it on
GiB = 1024**3
UNSAFE = "unsafe: no sandbox"
CONTAINER = "no sandbox: a disposable container"


@dataclass(frozen=True)
class Sandbox:
    """The limits of one run, in bytes or counts; None leaves one unset."""

    memory_bytes: int | None = 16 * GiB  # address space (RLIMIT_AS); device runtimes need it unset
    processes: int | None = 4096  # processes and threads of the run's user (RLIMIT_NPROC); runtimes start a thread per core
    file_bytes: int | None = 4 * GiB  # largest file the run may write (RLIMIT_FSIZE)
    disk_bytes: int | None = 8 * GiB  # all the run writes: its private area and /dev/shm are tmpfs of this size
    open_files: int = 8192  # RLIMIT_NOFILE
    output_bytes: int = 20 * 1024**2  # stdout and stderr are each kept up to this size
    isolate_network: bool = True

    def limits(self, dedicated_user: bool) -> dict[str, int]:
        """The resource limits to set before the run starts. The process count binds a dedicated
        user exactly; a shared user (the grader's own) gets its current processes on top."""
        limits = {"as": self.memory_bytes, "fsize": self.file_bytes, "nofile": self.open_files, "core": 0}
        if self.processes is not None:
            limits["nproc"] = self.processes if dedicated_user else _user_processes() + self.processes
        return {name: int(value) for name, value in limits.items() if value is not None}


def set_limits(limits: dict[str, int]) -> None:
    """Between fork and exec (Popen's preexec_fn): inherited by everything the run starts."""
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, f"RLIMIT_{name.upper()}"), (value, value))


def _user_processes() -> int:
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                pass
    return count


class CappedCopy(threading.Thread):
    """Copy a pipe into a file up to a size, then keep draining it so the writer never blocks."""

    def __init__(self, pipe, path: Path, limit: int):
        super().__init__(daemon=True)
        self.pipe, self.path, self.limit, self.truncated = pipe, path, limit, False
        self.start()

    def run(self) -> None:
        written = 0
        with self.path.open("wb") as out:
            while chunk := os.read(self.pipe.fileno(), 65536):
                room = self.limit - written
                if room > 0:
                    out.write(chunk[:room])
                    written += min(room, len(chunk))
                    out.flush()
                if len(chunk) > room and not self.truncated:
                    self.truncated = True
                    out.write(f"\n[grader: output cut at {self.limit:,} bytes]\n".encode())
        self.pipe.close()


def namespace_members(namespace: int) -> set[int]:
    """Host pids of every live process in a PID namespace (its inode, as bubblewrap reports it)."""
    link, found = f"pid:[{namespace}]", set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if os.readlink(f"/proc/{entry.name}/ns/pid") == link and _state(entry.name) not in ("Z", "X"):
                    found.add(int(entry.name))
            except OSError:
                pass
    return found


def _state(pid: str) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def end_namespace(proc, init: int | None, namespace: int | None, main_ended: bool, grace: float, left: set[int] = frozenset()) -> int:
    """SIGTERM every process of the run's namespace but its init, wait up to `grace`, then kill
    the init (the kernel then kills all that is left) and bubblewrap. Returns how many processes
    besides the main one there were: those still there now, and `left` (seen when the main one
    ended, before bubblewrap ended them)."""
    members = (namespace_members(namespace) - {init}) if namespace else set()
    for pid in members:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while members and time.monotonic() < deadline and namespace_members(namespace) - {init}:
        time.sleep(0.05)
    for pid in (init, proc.pid):
        if pid:
            _signal(pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + grace  # SIGKILL is delivered asynchronously
    while namespace and namespace_members(namespace) and time.monotonic() < deadline:
        time.sleep(0.05)
    return max(0, len(members | set(left)) - (0 if main_ended else 1))


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _process_table() -> dict[int, tuple[int, bytes]]:
    """pid -> (process group, environment) for every live process we can read."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
            if state in ("Z", "X"):
                continue
            environ = Path(f"/proc/{entry.name}/environ").read_bytes()
        except (OSError, ValueError):
            continue
        table[int(entry.name)] = (int(pgrp), environ)
    return table


def members(group: int, token: str) -> set[int]:
    """Without the sandbox: live processes in the run's process group or carrying its token."""
    me = os.getpid()
    return {pid for pid, (pgrp, environ) in _process_table().items() if pid != me and (pgrp == group or _holds(environ, TOKEN_VAR, token))}


def end_all(proc, token: str, grace: float) -> int:
    """Without the sandbox: SIGTERM every process of the run, wait up to `grace`, SIGKILL what is
    left; reap the main process. Returns how many processes other than the main one were ended."""
    ended: set[int] = set()

    def signal_all(sig: int) -> set[int]:
        alive = members(proc.pid, token)
        for pid in alive:
            _signal(pid, sig)
        return alive

    first = signal_all(signal.SIGTERM)
    ended |= first
    deadline = time.monotonic() + grace
    while first and time.monotonic() < deadline:
        proc.poll()
        if not members(proc.pid, token):
            break
        time.sleep(0.1)
    ended |= signal_all(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + grace
    while members(proc.pid, token) and time.monotonic() < deadline:
        time.sleep(0.05)
    ended.discard(proc.pid)
    return len(ended)


def carrying(variable: str, value: str) -> set[int]:
    """Live processes whose environment holds variable=value (other than this one)."""
    me = os.getpid()
    return {pid for pid, (_pgrp, environ) in _process_table().items() if pid != me and _holds(environ, variable, value)}


def _holds(environ: bytes, variable: str, value: str) -> bool:
    """Whether a /proc environ block sets variable=value."""
    return f"{variable}={value}".encode() in environ.split(b"\0")


def end_attempt(token: str, grace: float = 5.0) -> int:
    """End every process of a batch attempt, wherever it went (its grader worker, the student's
    run and what that started): SIGTERM, then SIGKILL what is left after `grace`. Returns how many."""
    ended: set[int] = set()
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        alive = carrying(ATTEMPT_VAR, token)
        ended |= alive
        for pid in alive:
            _signal(pid, sig)
        deadline = time.monotonic() + wait
        while alive and carrying(ATTEMPT_VAR, token) and time.monotonic() < deadline:
            time.sleep(0.1)
    return len(ended)


def user_members(uid: int) -> set[int]:
    """Live processes with `uid` as any of their user ids (real, effective, saved, filesystem),
    read from /proc/PID/status, which a process cannot hide as it can its /proc folder's owner."""
    found = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry.name}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("State", "").split()[:1] in (["Z"], ["X"]):
            continue
        if str(uid) in fields.get("Uid", "").split():
            found.add(int(entry.name))
    return found


def _kill_as(uid: int, setpriv: str) -> None:
    """kill(-1, SIGKILL) as `uid`: every process of that uid at once, however fast it forks."""
    drop = [setpriv, "--reuid", str(uid), "--regid", str(uid), "--clear-groups", "--inh-caps=-all", "--"]
    subprocess.run([*drop, sys.executable, "-S", "-c", "import os, signal; os.kill(-1, signal.SIGKILL)"], capture_output=True, timeout=30)


def end_user(proc, uid: int, grace: float, setpriv: str) -> int:
    """End every process of the run's own uid: SIGTERM, up to `grace` to go, then SIGKILL (all at
    once, then one by one) until none is left. Returns how many other than the main one there were."""
    ended = user_members(uid)
    for pid in ended:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while ended and user_members(uid) and time.monotonic() < deadline:
        proc.poll()
        time.sleep(0.05)
    deadline = time.monotonic() + grace
    while (alive := user_members(uid)) and time.monotonic() < deadline:
        ended |= alive
        _kill_as(uid, setpriv)
        for pid in alive:
            _signal(pid, signal.SIGKILL)
        time.sleep(0.05)
    proc.wait()
    ended.discard(proc.pid)
    return len(ended)
