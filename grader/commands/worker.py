"""The grader worker: grades one student of a batch in a process of its own.

    python -m grader.commands.worker JOB_JSON DEVICE

It writes the student's outputs (or error.txt saying why there are none) into the job's output
folder, and its phases as plain lines on stdout. It ends with the batch: when the process that
started it dies (even by SIGKILL) it gets SIGTERM, kills the student's run at once (nobody waits
for its end) and removes the private copy before it exits.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import traceback
from pathlib import Path

from rich.console import Console

from grader import pipeline
from grader.commands import ledger, progress
from grader.commands.attempt import PARENT_VAR, Job
from grader.course import profiles
from grader.errors import CannotGrade
from grader.evidence.evaluator import Evaluator
from grader.evidence.record import LOGS_DIR
from grader.outputs import files
from grader.run import sandbox
from grader.scoring import rubric as rubric_io

PR_SET_PDEATHSIG = 1


def _end_with_parent() -> None:
    """Linux: SIGTERM this process when its parent dies, so a killed batch leaves no grading behind."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the next batch ends the attempt by its token


def _interrupt(signum, frame):
    """SIGTERM: the batch stops this grading (Ctrl-C), or died. A stopped run gets its grace to
    end; when the batch died nobody waits for the run's end, so its processes are killed at once.
    Either way the grading unwinds: the private copy is removed."""
    parent, token = os.environ.get(PARENT_VAR), os.environ.get(sandbox.ATTEMPT_VAR)
    if parent and token and str(os.getppid()) != parent:
        sandbox.end_attempt(token, grace=0.0)  # every process of the attempt but this one
    raise KeyboardInterrupt


def grade(job: Job, device: str) -> int:
    """Exit status: 0 graded, 2 could not grade (error.txt says why), 3 a grader error, 130 stopped."""
    out = Path(job.out)
    options = pipeline.RunOptions(
        job.ref, job.before, device or None, job.device_ids, job.python, job.isolation, job.student, job.submitted_from
    )
    log = progress.scratch_log()
    try:
        profile = profiles.load(job.profile, job.model_dir)
        rubric = rubric_io.load(job.rubric)
        shown = progress.PlainProgress(Console(file=sys.stdout, width=200), every=60.0)
        with progress.library_output_to(log):
            scored = pipeline.grade(
                job.submission,
                profile,
                Path(job.mrpc),
                out,
                job.budget,
                options,
                rubric,
                job.submitted_at,
                job.student,
                shown,
                Evaluator.connect(Path(job.evaluator)) if job.evaluator else None,
            )
        print(f"{job.student}: {scored.verdict} {scored.score:g}/{scored.max_score:g}", flush=True)
        return 0
    except KeyboardInterrupt:
        print(f"{job.student}: stopped", flush=True)
        return 130
    except CannotGrade as exc:
        files.write_error(out, str(exc))
        print(f"{job.student}: could not grade: {exc}", flush=True)
        return 2
    except Exception as exc:  # the grader's fault, recorded for this student; the batch goes on
        files.write_error(out, f"{ledger.GRADER_ERROR}: {type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
        traceback.print_exc(file=sys.stdout)
        return 3
    finally:
        progress.keep_log(log, out / files.EVIDENCE_DIR / LOGS_DIR)


def main(argv: list[str]) -> int:
    _end_with_parent()
    signal.signal(signal.SIGTERM, _interrupt)
    if str(os.getppid()) != os.environ.get(PARENT_VAR, str(os.getppid())):  # the batch died before that took effect
        return 130
    job_text, device = argv
    return grade(Job.from_json(job_text), device)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
