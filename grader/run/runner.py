"""Run the student's script in a child process: private copy, scrubbed offline environment,
time budget, and every process it started ended when it is over (politely, then by force).

In the sandbox (a Jail) the run's end is its main process's end, as bubblewrap reports it; what
it left behind in its PID namespace is then ended. The budget is this process's own clock."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.run import jail as jail_mod
from grader.run import sandbox as sandbox_mod
from grader.run import seccomp
from grader.run.layout import PLACES, Layout

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
    isolation: dict | None = None  # what was in force: the sandbox, or "unsafe: no sandbox", and the limits
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
    jail: jail_mod.Jail | None = None,
    run_as: int | None = None,
) -> RunRecord:
    """Run `command` (default: the interpreter on the entry script) under the budget, in `jail`
    when given, else with `sandbox`'s limits only. Whether it ends by itself or at the budget,
    every process it started is then ended too. `watch` is called with the elapsed seconds every
    POLL_SECONDS while the run goes on (progress on a terminal); when it returns True the run is
    ended then, as at the budget. Without a jail, `run_as` (the grader is root, in a disposable
    container) is the uid of its own the run is started as."""
    logs = Path(logs).absolute()  # the child runs in `cwd`: a relative path would point elsewhere there
    logs.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = logs / "stdout.txt", logs / "stderr.txt"
    command = command or [python or sys.executable, str(entry.relative_to(cwd))]
    if os.environ.get(sandbox_mod.ATTEMPT_VAR):  # a batch ends a killed attempt's processes by it
        env = {**env, sandbox_mod.ATTEMPT_VAR: os.environ[sandbox_mod.ATTEMPT_VAR]}
    box = sandbox or sandbox_mod.Sandbox()
    start = time.monotonic()
    if jail:
        started = _start_jailed(jail, box, command, cwd, env)
    elif run_as is not None:
        started = _start_as_user(box, command, cwd, env, run_as)
    else:
        started = _start_plain(sandbox, command, cwd, env)
    proc, main_done = started.proc, started.main_done
    copies = {
        "stdout": sandbox_mod.CappedCopy(proc.stdout, stdout_path, box.output_bytes),
        "stderr": sandbox_mod.CappedCopy(proc.stderr, stderr_path, box.output_bytes),
    }
    timed_out = stopped = False
    try:
        while not main_done.is_set() and proc.poll() is None:
            left = budget - (time.monotonic() - start)
            if left <= 0:
                timed_out = True
                break
            if main_done.wait(min(left, POLL_SECONDS)):
                break
            if watch and watch(time.monotonic() - start):
                stopped = True
                break
    finally:
        ended = started.end()
    wall = round(time.monotonic() - start, 3)
    for copy in copies.values():
        copy.join(timeout=GRACE_SECONDS)
    exit_code = None if timed_out else started.exit_code()
    return RunRecord(
        command,
        exit_code,
        wall,
        timed_out,
        budget,
        str(stdout_path),
        str(stderr_path),
        started.isolation,
        ended,
        [name for name, c in copies.items() if c.truncated],
        stopped,
    )


class _Started:
    """A started run: its process, when its main process has ended, how to end the rest."""

    def __init__(self, proc, isolation: dict | None, end: Callable[[], int], main_done: threading.Event | None = None, status=None):
        self.proc, self.isolation, self.end, self.status = proc, isolation, end, status
        self.main_done = main_done or threading.Event()

    def exit_code(self) -> int | None:
        if self.status is not None and self.status.exit_code is not None:
            return self.status.exit_code
        return self.proc.returncode


def _popen(argv: list[str], cwd: Path, env: dict[str, str], limits: dict[str, int], pass_fds=()) -> subprocess.Popen:
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        pass_fds=pass_fds,
        preexec_fn=(lambda: sandbox_mod.set_limits(limits)) if limits else None,
    )


def _start_jailed(jail: jail_mod.Jail, box: sandbox_mod.Sandbox, command: list[str], cwd: Path, env: dict[str, str]) -> _Started:
    version = jail_mod.check()
    jail.prepare()
    limits = box.limits(dedicated_user=jail.uid is not None)
    filter_fd, refused = seccomp.compile_filter()
    read_fd, write_fd = os.pipe()
    try:
        proc = _popen(jail.argv(command, filter_fd, write_fd), cwd, env, limits, (filter_fd, write_fd))
    finally:
        os.close(write_fd)
        os.close(filter_fd)
    status, main_done = jail_mod.Status(read_fd), threading.Event()
    reader = threading.Thread(target=status.read, args=(main_done.set,), daemon=True)
    reader.start()

    def end() -> int:
        reader.join(timeout=0.5)  # the namespace is known once bubblewrap has started it
        ended = main_done.is_set()
        return sandbox_mod.end_namespace(proc, status.child_pid, status.pid_namespace, ended, GRACE_SECONDS, status.left_at_exit)

    isolation = jail.describe(version, refused) | {"limits": limits}
    return _Started(proc, isolation, end, main_done, status)


def _start_plain(box: sandbox_mod.Sandbox | None, command: list[str], cwd: Path, env: dict[str, str]) -> _Started:
    """Without a sandbox: the limits (when given) and a token to find the run's processes by."""
    token = uuid.uuid4().hex
    limits = box.limits(dedicated_user=False) if box else {}
    proc = _popen(command, cwd, {**env, sandbox_mod.TOKEN_VAR: token}, limits)
    main_done = threading.Event()
    threading.Thread(target=lambda: (proc.wait(), main_done.set()), daemon=True).start()
    isolation = None
    if box:
        problems = ["the process-count limit does not bind root"] if os.geteuid() == 0 and "nproc" in limits else []
        isolation = {"sandbox": sandbox_mod.UNSAFE, "network": "not isolated", "limits": limits, "problems": problems}
    return _Started(proc, isolation, lambda: sandbox_mod.end_all(proc, token, GRACE_SECONDS), main_done)


def open_to_run_user(private: Path, layout: Layout, uid: int) -> None:
    """Container isolation: the run's own uid may pass through the private area (0711: it can
    list nothing there) and owns the folders it writes (home, work, output, tmp, notebook), closed
    to every other user (0700); the rest stays root's, readable at most. The grader, root, enters
    the working folder before it drops to that uid."""
    os.chmod(private, 0o711)
    for name, (_inside, writable) in PLACES.items():
        if writable and layout.host[name].is_dir():
            jail_mod.give(layout.host[name], uid)
            os.chmod(layout.host[name], 0o700)


def _start_as_user(box: sandbox_mod.Sandbox, command: list[str], cwd: Path, env: dict[str, str], uid: int) -> _Started:
    """In a disposable container, as root: the limits, and the run started as `uid` with no
    groups, no capabilities and no_new_privs (setpriv); the run is every process of that uid."""
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    drop = [setpriv, "--reuid", str(uid), "--regid", str(uid), "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
    limits = box.limits(dedicated_user=True)
    proc = _popen([*drop, "--no-new-privs", "--", *command], cwd, env, limits)
    main_done = threading.Event()
    threading.Thread(target=lambda: (proc.wait(), main_done.set()), daemon=True).start()
    isolation = {
        "sandbox": sandbox_mod.CONTAINER,
        "network": "not isolated",
        "run_user": f"host uid {uid}, no groups, no capabilities, no_new_privs",
        "limits": limits,
        "problems": [
            "the run sees the container's files that others may read, and its processes (not their memory or environment)",
            "no system-call filter and no network isolation beyond the container's own",
        ],
    }
    return _Started(proc, isolation, lambda: sandbox_mod.end_user(proc, uid, GRACE_SECONDS, setpriv), main_done)
