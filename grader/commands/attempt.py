"""Grading one student of a batch: `grade_one`, the one function that every executor calls (a
local slot's thread, a Ray actor on another machine).

The grading itself runs in a grader worker process of its own (commands/worker.py): MindSpore
must not run in threads of one process, and a crash of one grading must not stop the batch. The
worker and every process it starts carry the attempt's token in their environment, and its
temporary files (the student's private copy among them) lie in the attempt's work folder, so
whatever an interrupted attempt leaves is found and removed, now or by the next batch.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.commands import ledger
from grader.commands.slots import Slot
from grader.course import profiles
from grader.evidence.evaluator import TOKEN_ENV, Evaluator
from grader.intake import untrusted
from grader.outputs import files, store
from grader.paths import CHECKOUT_HOME
from grader.run import devices, sandbox

PARENT_VAR = "GRADER_WORKER_PARENT"  # the worker checks that the process that started it still lives
STOPPED = "stopped before it finished"  # the problem of an attempt the batch was stopped during
STOP_GRACE = 20.0  # seconds a worker gets to end the student's run and clean up when stopped
POLL_SECONDS = 0.5  # how often a slot looks at its worker: stopped, ended, or in need of the slot's evaluator


def grader_env() -> dict[str, str]:
    """This process's environment with the folder holding this grader package first on PYTHONPATH:
    a child `python -m grader...` runs this very grader, installed or not."""
    return os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(CHECKOUT_HOME), os.environ.get("PYTHONPATH", "")]))}


@dataclass
class Job:
    """Everything a worker needs to grade one student; JSON on its command line."""

    student: str
    submission: str
    out: str  # the student's output folder
    mrpc: str
    profile: str
    model_dir: str | None = None
    budget: float | None = None
    ref: str | None = None
    before: str | None = None
    device_ids: str | None = None
    python: str | None = None
    isolation: str | None = None  # --isolation (run/isolation.py)
    rubric: str | None = None
    submitted_at: str | None = None
    evaluator: str | None = None  # the slot's long-lived evaluator (its socket); its token goes in the environment
    submitted_from: str = "commit"  # when no time is given: the commit's date, or the URL's fetch time

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Job:
        return cls(**json.loads(text))


@dataclass
class Outcome:
    """How one attempt ended, as the batch records it."""

    state: str  # ledger.GRADED, ledger.NOT_GRADED or ledger.INTERRUPTED
    problem: str = ""
    score: float | None = None
    max_score: float | None = None
    verdict: str | None = None
    evidence: str | None = None
    stray_processes: int = 0  # processes of the attempt still alive after the worker ended

    def fields(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("state", "stray_processes")}


def start_evaluator(job: Job, device: str | None) -> Evaluator | None:
    """A slot's long-lived evaluator: the base model, tokenizer and evaluation data loaded once (in
    a process of the grader's own, on the slot's device) for every student the slot grades, local
    or on a Ray node, from the first attempt that needs it (grade_one starts it). None when it
    cannot be made: each worker then evaluates afresh, and says so."""
    try:
        profile = profiles.load(job.profile, job.model_dir)
        device = devices.parse(device or profile.device)  # a default slot (no --jobs or --devices) has none: the profile's
        return Evaluator.start(profile, profile.model_dir(), Path(job.mrpc), device, when_needed=True)
    except Exception:  # a fresh evaluation per student still grades correctly
        return None


def grade_one(
    job: Job,
    slot: Slot,
    token: str,
    work: Path,
    log: Path,
    started: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
    evaluator: Evaluator | None = None,
) -> Outcome:
    """Grade `job` on `slot` in a worker process; `started(pid)` is told its pid, `stop` ends it
    early (then the outcome is interrupted). The student's output folder is emptied first, so it
    only ever holds this attempt's result; the work folder is removed afterwards."""
    out = Path(job.out)
    shutil.rmtree(out, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = grader_env() | {sandbox.ATTEMPT_VAR: token, "TMPDIR": str(work), PARENT_VAR: str(os.getpid())}
    if evaluator is not None:  # the worker evaluates through the slot's evaluator, not a fresh load
        job.evaluator, env[TOKEN_ENV] = str(evaluator.address), evaluator.token
    command = [sys.executable, "-m", "grader.commands.worker", job.to_json(), slot.device]
    stopped = False
    try:
        with log.open("ab") as output:
            worker = subprocess.Popen(
                command, env=env, cwd=work, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        if started:
            started(worker.pid)
        began = time.monotonic()
        while worker.poll() is None:
            if evaluator is not None:  # the slot's evaluator loads once this attempt needs it
                evaluator.start_when_needed(time.monotonic() - began)
            if stop is not None and stop.wait(POLL_SECONDS):
                stopped = True
                _stop(worker)
                break
            if stop is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.wait(POLL_SECONDS)
    finally:
        stray = sandbox.end_attempt(token, grace=2.0)  # nothing of the attempt outlives it
        untrusted.remove_tree(work)  # a run's tree, however deep
    if stopped:
        return Outcome(ledger.INTERRUPTED, STOPPED, stray_processes=stray)
    outcome = read_outcome(out, worker.returncode, log)
    outcome.stray_processes = stray
    return outcome


def _stop(worker: subprocess.Popen) -> None:
    """SIGTERM: the worker ends the student's run and removes its copies; SIGKILL if it lingers."""
    try:
        worker.send_signal(signal.SIGTERM)
        worker.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    except ProcessLookupError:
        pass


def read_outcome(out: Path, returncode: int | None, log: Path) -> Outcome:
    """What the worker left in the output folder: scored.json, or error.txt saying why not."""
    if (out / files.SCORED).is_file():
        scored = store.load(out)
        return Outcome(ledger.GRADED, "", scored.score, scored.max_score, scored.verdict, str(out / files.EVIDENCE_DIR))
    written = files.read_error(out)
    if written is not None:
        return Outcome(ledger.NOT_GRADED, written or "(no reason given)")
    how = f"signal {-returncode}" if returncode and returncode < 0 else f"exit status {returncode}"
    reason = f"{ledger.GRADER_ERROR}: the grading worker ended with {how} and wrote no result; its log: {log}"
    files.write_error(out, reason)
    return Outcome(ledger.NOT_GRADED, reason)
