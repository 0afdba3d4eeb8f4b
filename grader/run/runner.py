"""Run the student's script in a child process: private copy, scrubbed offline environment,
time budget, and the whole process group ended on expiry (politely, then by force)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.run import sandbox as sandbox_mod

GRACE_SECONDS = 5.0
POLL_SECONDS = 0.5  # how often a watcher is asked while the run goes on


@dataclass
class RunRecord:
    command: list[str]
    exit_code: int | None
    wall_seconds: float
    timed_out: bool
    budget_seconds: float
    stdout_path: str
    stderr_path: str
    isolation: dict | None = None  # what sandbox_exec.py could put in force on this machine
    ended_processes: int = 0  # processes besides the main one that the grader had to end
    output_truncated: list[str] = field(default_factory=list)  # streams cut at the size cap
    stopped_early: bool = False  # the watcher ended the run before it finished (`grade check`)

    def to_dict(self) -> dict:
        return asdict(self)


def run_script(
    entry: Path,
    cwd: Path,
    env: dict[str, str],
    budget: float,
    logs: Path,
    python: str | None = None,
    sandbox: sandbox_mod.Sandbox | None = None,
    command: list[str] | None = None,
    watch: Callable[[float], bool] | None = None,
) -> RunRecord:
    """Run `command` (default: the interpreter on the entry script) under the budget. Whether it
    ends by itself or at the budget, every process it started is then ended too. `watch` is
    called with the elapsed seconds every POLL_SECONDS while the run goes on (progress on a
    terminal); when it returns True the run is ended then, as at the budget."""
    logs = Path(logs).absolute()  # the child runs in `cwd`: a relative path would point elsewhere there
    logs.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = logs / "stdout.txt", logs / "stderr.txt"
    command = command or [python or sys.executable, str(entry.relative_to(cwd))]
    token = uuid.uuid4().hex
    env = {**env, sandbox_mod.TOKEN_VAR: token}
    if os.environ.get(sandbox_mod.ATTEMPT_VAR):  # a batch ends a killed attempt's processes by it
        env[sandbox_mod.ATTEMPT_VAR] = os.environ[sandbox_mod.ATTEMPT_VAR]
    launch, record_file = sandbox.wrap(command, logs) if sandbox else (command, None)
    cap = sandbox.output_bytes if sandbox else sandbox_mod.Sandbox().output_bytes
    start = time.monotonic()
    proc = subprocess.Popen(
        launch, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True
    )
    copies = {
        "stdout": sandbox_mod.CappedCopy(proc.stdout, stdout_path, cap),
        "stderr": sandbox_mod.CappedCopy(proc.stderr, stderr_path, cap),
    }
    timed_out = stopped = False
    try:
        while True:
            left = budget - (time.monotonic() - start)
            if left <= 0:
                timed_out = True
                break
            try:
                proc.wait(timeout=min(left, POLL_SECONDS) if watch else left)
                break
            except subprocess.TimeoutExpired:
                if watch and watch(time.monotonic() - start):
                    stopped = True
                    break
    finally:
        ended = sandbox_mod.end_all(proc, token, GRACE_SECONDS)
    wall = round(time.monotonic() - start, 3)
    for copy in copies.values():
        copy.join(timeout=GRACE_SECONDS)
    isolation = json.loads(record_file.read_text()) if record_file and record_file.is_file() else None
    return RunRecord(
        command,
        None if timed_out else proc.returncode,
        wall,
        timed_out,
        budget,
        str(stdout_path),
        str(stderr_path),
        isolation,
        ended,
        [name for name, c in copies.items() if c.truncated],
        stopped,
    )
