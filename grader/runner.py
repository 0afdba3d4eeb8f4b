"""Run the student's script in a child process: private copy, scrubbed offline environment,
time budget, and the whole process group ended on expiry (politely, then by force)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .inject import SITE_DIR
from .mindnlp_env import OFFLINE_ENV

PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "SSL_CERT_FILE")
GRACE_SECONDS = 5.0


@dataclass
class RunRecord:
    command: list[str]
    exit_code: int | None
    wall_seconds: float
    timed_out: bool
    budget_seconds: float
    stdout_path: str
    stderr_path: str

    def to_dict(self) -> dict:
        return asdict(self)


def student_env(private: Path, variables: dict[str, str], device: str, seed: int, hooks: tuple[str, ...] = ()) -> dict[str, str]:
    """Only what the script needs: no grader secrets, a private HOME and TMPDIR, offline hub,
    and the grader's sitecustomize first on PYTHONPATH with the named hooks to install."""
    home, tmp = private / "home", private / "tmp"
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    env = {key: os.environ[key] for key in PASSTHROUGH if key in os.environ}
    env.update(OFFLINE_ENV)
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp),
        HF_HOME=str(home / ".cache" / "huggingface"),
        PYTHONUNBUFFERED="1",
        PYTHONHASHSEED=str(seed),
        PYTHONDONTWRITEBYTECODE="1",
        DEVICE_TARGET=device,
        GLOG_v="3",
        PYTHONPATH=str(SITE_DIR),
        GRADER_HOOKS=",".join(hooks),
    )
    env.update(variables)
    return env


def _end_group(proc: subprocess.Popen) -> None:
    """SIGTERM the whole group, give it a grace period, then SIGKILL whatever is left."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_script(entry: Path, cwd: Path, env: dict[str, str], budget: float, logs: Path, python: str | None = None) -> RunRecord:
    logs.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = logs / "stdout.txt", logs / "stderr.txt"
    command = [python or sys.executable, str(entry.relative_to(cwd))]
    start = time.monotonic()
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _end_group(proc)
    return RunRecord(command, None if timed_out else proc.returncode, round(time.monotonic() - start, 3), timed_out, budget, str(stdout_path), str(stderr_path))
