"""`grade batch`: read the roster, open (or resume) the class's gradebook, grade on local slots or
a Ray cluster, then write the class summary and gradebook.csv, and say how to resume when stopped."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console

from grader.commands import batch as batch_mod
from grader.commands import roster
from grader.commands.attempt import grader_env
from grader.commands.batch_progress import Display
from grader.commands.batch_run import Interrupted, run_local
from grader.commands.ray_executor import run_ray
from grader.commands.slots import Slot
from grader.course import tiny_model
from grader.course.profiles import Profile
from grader.errors import CannotGrade
from grader.scoring.rubric import Rubric


def prepare_model(profile: Profile, mrpc: Path, model_dir: str | None) -> None:
    """Build a generated profile's model with `grade prepare` in a child process: the batch's own
    process never imports MindSpore (its SIGINT handler would end the batch on Ctrl-C at once,
    leaving the running students unrecorded). A model already built needs no child."""
    if tiny_model.is_built(profile):
        return
    command = [sys.executable, "-m", "grader.cli", "prepare", "--profile", profile.name, "--data", str(mrpc)]
    command += ["--model-dir", model_dir] if model_dir else []
    done = subprocess.run(command, env=grader_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise CannotGrade(f"could not build the {profile.name} model: {(done.stderr or done.stdout).strip()[-2000:]}")


def grade_class(
    entries: list[roster.Entry],
    extra_columns: list[str],
    out: Path,
    settings: batch_mod.Settings,
    rubric: Rubric,
    slots: list[Slot],
    console: Console,
    budget_shown: float | None = None,
    regrade: list[str] | None = None,
    executor: str = "local",
    address: str | None = None,
    resource: str | None = None,
) -> int:
    """Exit status: 0 every student passed, 1 not all did, 130 stopped (resumable)."""
    batch = batch_mod.open_batch(entries, extra_columns, out, settings, rubric, regrade)
    interrupted = False
    try:
        rows = batch.book.rows()
        counts = Counter(rows[e.folder]["state"] for e in entries)
        where = (
            f"a Ray cluster ({address or 'local'})" if executor == "ray" else f"{len(slots)} slot(s): {', '.join(s.name for s in slots)}"
        )
        display = Display(console, counts, [] if executor == "ray" else [s.name for s in slots], budget_shown)
        if batch.recovered:
            display.say(f"an earlier batch was stopped while grading {', '.join(batch.recovered)}: its processes and copies are removed")
        kept = len(entries) - len(batch.to_grade)
        display.say(f"{len(entries)} students: {len(batch.to_grade)} to grade on {where}; {kept} kept from an earlier run")
        try:
            batch_mod.rescore_changed(batch, rubric, display.say)
            if executor == "ray":
                run_ray(batch, slots[0], address, display, resource)
            else:
                run_local(batch, slots, display)
        except Interrupted:
            interrupted = True
        finally:
            display.close()
        path, summary_rows = batch_mod.finish(batch)
    finally:
        batch.close()
    statuses = Counter(row.status for row in summary_rows)
    print(f"\n{len(summary_rows)} students ({', '.join(f'{n} {s}' for s, n in statuses.items())}) -> {path}", flush=True)
    if interrupted:
        print(f"stopped: {batch_mod.RESUME}", flush=True)
        return 130
    return 0 if all(row.status == "passed" for row in summary_rows) else 1
