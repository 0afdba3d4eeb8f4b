"""Checks on the run itself, from what the grader observed of its process: exit and wall clock."""

from __future__ import annotations

from grader.checks.registry import RUN_RECORD, WALL_CLOCK, Judged, check, failed, not_run, passed
from grader.course.calibration import Calibration
from grader.evidence.diagnose import headline
from grader.evidence.findings import Findings


@check("run", "Training script ran to completion", RUN_RECORD)
def ran_to_completion(f: Findings, _: Calibration) -> Judged:
    ev = f.evidence
    if ev.entry_problem:
        return failed(ev.entry_problem)
    run = ev.run
    why = "".join(f"; {line}" for line in ev.diagnoses)
    if run.timed_out:
        return failed(f"did not finish: ended by the grader at the {run.budget_seconds:g} s budget{why}")
    if run.exit_code != 0:
        return failed(f"{ev.entry} exited with status {run.exit_code}: {headline(f.stderr)}{why}")
    return passed(f"{ev.entry} exited normally in {run.wall_seconds:.1f} s")


@check("budget", "Finished within the time budget", WALL_CLOCK)
def within_budget(f: Findings, _: Calibration) -> Judged:
    run = f.evidence.run
    if run is None:
        return not_run("nothing was run")
    expected, measured = f"<= {run.budget_seconds:g} s", round(run.wall_seconds, 1)
    if not run.timed_out and run.exit_code != 0:
        return not_run(
            f"the run failed after {run.wall_seconds:.1f} s (status {run.exit_code}): ending early is not finishing in time",
            expected,
            measured,
        )
    if run.timed_out:
        return failed(f"still running after {run.budget_seconds:g} s; every process it started was ended", expected, measured)
    return passed(f"took {run.wall_seconds:.1f} s", expected, measured)
