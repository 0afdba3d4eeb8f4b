"""What confines a student run: resource limits, no network, hidden grader data, capped logs,
and the sweep that ends every process the run started when it is over.

Confinement is applied by launch/sandbox_exec.py between fork and exec; this module plans it, captures
the output, and finds the run's processes afterwards by a token in their environment (a process
that leaves the process group with setsid, or a Jupyter kernel in a session of its own, still
carries it).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.run.launch import SANDBOX_EXEC as EXEC_SCRIPT

TOKEN_VAR = "GRADER_SANDBOX_TOKEN"
ATTEMPT_VAR = "GRADER_ATTEMPT_TOKEN"  # set by a batch for one student's attempt; every run of it carries it on
GiB = 1024**3


@dataclass(frozen=True)
class Sandbox:
    """The confinement for one run. Limits are in bytes or counts; None leaves one unset."""

    memory_bytes: int | None = 16 * GiB  # address space (RLIMIT_AS); device runtimes need it unset
    processes: int | None = 512  # on top of what this user already runs (RLIMIT_NPROC)
    file_bytes: int | None = 4 * GiB  # largest file the run may write (RLIMIT_FSIZE)
    output_bytes: int = 20 * 1024**2  # stdout and stderr are each kept up to this size
    isolate_network: bool = True
    hide: tuple[str, ...] = field(default_factory=tuple)  # grader data the run must never read
    read_only: tuple[str, ...] = field(default_factory=tuple)  # what the run reads but must not change (the base model)

    def plan(self, record: Path) -> dict:
        limits = {"as": self.memory_bytes, "fsize": self.file_bytes, "core": 0}
        if self.processes is not None:
            limits["nproc"] = _user_processes() + self.processes
        return {
            "limits": limits,
            "isolate_network": self.isolate_network,
            "hide": list(self.hide),
            "read_only": list(self.read_only),
            "record": str(record),
        }

    def wrap(self, command: list[str], logs: Path) -> tuple[list[str], Path]:
        """The command that confines itself and then runs `command`; and where it records how."""
        plan_file, record = logs / "sandbox-plan.json", logs / "sandbox.json"
        plan_file.write_text(json.dumps(self.plan(record), indent=2))
        return [sys.executable, str(EXEC_SCRIPT), str(plan_file), "--", *command], record


def _user_processes() -> int:
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                pass
    return count


def safe_to_hide(paths: list[Path], needed: list[Path]) -> tuple[list[str], list[str]]:
    """Split paths into those that can be masked and those that cannot (they hold something
    the run needs, such as the interpreter, the model or its private folder)."""
    hide, kept = [], []
    needed = [p.resolve() for p in needed]
    for path in dict.fromkeys(p.resolve() for p in paths if p and p.exists()):
        if any(n == path or n.is_relative_to(path) for n in needed):
            kept.append(str(path))
        else:
            hide.append(str(path))
    return hide, kept


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
    """Live processes of the run: in its process group, or carrying its token."""
    needle = f"{TOKEN_VAR}={token}".encode()
    me = os.getpid()
    return {pid for pid, (pgrp, environ) in _process_table().items() if pid != me and (pgrp == group or needle in environ.split(b"\0"))}


def end_all(proc, token: str, grace: float) -> int:
    """SIGTERM every process of the run, wait up to `grace`, SIGKILL what is left; reap the
    main process. Returns how many processes other than the main one had to be ended."""
    ended: set[int] = set()

    def signal_all(sig: int) -> set[int]:
        alive = members(proc.pid, token)
        for pid in alive:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
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
    deadline = time.monotonic() + grace  # SIGKILL is delivered asynchronously
    while members(proc.pid, token) and time.monotonic() < deadline:
        time.sleep(0.05)
    ended.discard(proc.pid)
    return len(ended)


def carrying(variable: str, value: str) -> set[int]:
    """Live processes whose environment holds variable=value (other than this one)."""
    needle, me = f"{variable}={value}".encode(), os.getpid()
    return {pid for pid, (_pgrp, environ) in _process_table().items() if pid != me and needle in environ.split(b"\0")}


def end_attempt(token: str, grace: float = 5.0) -> int:
    """End every process of a batch attempt, wherever it went (its grader worker, the student's
    run and what that started): SIGTERM, then SIGKILL what is left after `grace`. Returns how many."""
    ended: set[int] = set()
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        alive = carrying(ATTEMPT_VAR, token)
        ended |= alive
        for pid in alive:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + wait
        while alive and carrying(ATTEMPT_VAR, token) and time.monotonic() < deadline:
            time.sleep(0.1)
    return len(ended)
