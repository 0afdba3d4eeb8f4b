"""Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/).

Gradescope shows a student every test but `hidden` ones (and `after_*` ones until then), and
while any test is hidden it hides the student's total. So a test is hidden only when the rubric
puts points on a hidden criterion (the rubric's choice to hide the total); a hidden check worth
nothing (the held-out test split, the student's claims) goes into the top-level `extra_data`,
which Gradescope stores for the instructor and never shows. Gradescope knows two statuses,
passed and failed: a check that was not run, could not be judged or only informs says so in
its text, and is `failed` only when it cost the student points."""

from __future__ import annotations

import json
from pathlib import Path

from grader.checks.judge import INSTRUCTOR_ONLY_PREFIXES
from grader.checks.judgement import HIDDEN, PASSED
from grader.outputs.wording import details, lost_points, outcome, plain
from grader.scoring.score import CriterionScore, ScoredResult

LEADERBOARD_TITLES = {  # a rubric's leaderboard measurement -> its column on Gradescope
    "test_accuracy": "Held-out test accuracy",
    "test_f1": "Held-out test F1",
    "validation_accuracy": "Validation accuracy",
    "validation_f1": "Validation F1",
}
PREFIX = {
    "error": "Could not be judged: the grader failed here, not your submission; your instructor sees why.\n",
    "not_run": "Not run: a step it depends on did not complete.\n",
    "info": "Informational, worth 0 points (found: {status}).\n",
    "absent": "Not scored: this grading has no such check (the grader's gap, not your submission's); a re-grade scores it.\n",
}
SUFFIX = {"info": " (informational)"}
TAGS = {  # tags[0] is the check id, tags[1] its outcome
    "passed": "passed",
    "failed": "failed",
    "error": "could-not-judge",
    "not_run": "not-run",
    "info": "informational",
    "absent": "not-in-result",
}


def _status(c: CriterionScore) -> str:
    """failed only when the criterion cost points: an informational check is never red."""
    kind = outcome(c)
    if kind == "info":
        return "passed"
    return "passed" if c.status == PASSED and not c.absent and not lost_points(c) else "failed"


def entry(c: CriterionScore, number: int, unscored: bool) -> dict:
    """One criterion as a Gradescope test."""
    kind = outcome(c)
    text = PREFIX.get(kind, "").format(status=c.status.replace("_", " ")) + details(c)
    tags = [c.check, TAGS[kind]] + (["not-in-rubric"] if unscored else [])
    return {
        "name": plain(c.name) + SUFFIX.get(kind, ""),
        "number": str(number),
        "score": c.score,
        "max_score": c.max_score,
        "status": _status(c),
        "output": text,
        "output_format": "text",
        "tags": tags,
        "visibility": c.visibility,
        "extra_data": {
            "grader_status": c.status,
            "expected": c.expected,
            "measured": c.measured,
            "required": c.required,
            "absent": c.absent,
        },
    }


def instructor_only(c: CriterionScore) -> bool:
    """Hidden and worth nothing: kept out of the tests, so that the student's total stays visible."""
    return c.visibility == HIDDEN and c.max_score == 0


def leaderboard(scored: ScoredResult) -> list[dict]:
    """The rubric's leaderboard columns that this grading measured, highest first."""
    board = []
    for key in scored.rubric.leaderboard:
        value = scored.result.measurements.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            board.append({"name": LEADERBOARD_TITLES[key], "value": round(float(value), 4), "order": "desc"})
    return board


def render(scored: ScoredResult) -> dict:
    tests, kept_back = [], []
    for unscored, items in ((False, scored.criteria), (True, scored.unscored)):
        for c in items:
            (kept_back if instructor_only(c) else tests).append(entry(c, len(tests) + len(kept_back) + 1, unscored))
    r = scored.result
    summary = f"Verdict: {scored.verdict} ({scored.score:g}/{scored.max_score:g}) on profile {r.profile}, rubric {scored.rubric.name!r}"
    if r.student:
        summary = f"Student: {plain(r.student)}\n{summary}"
    if scored.late.penalty_percent:
        summary += f"\nLate: {scored.late.message}; {scored.raw_score:g} before the penalty"
    if r.environment.get("isolation_label"):
        summary += f"\n{r.environment['isolation_label'][0].upper()}{r.environment['isolation_label'][1:]}"
    results = {
        "score": scored.score,
        "max_score": scored.max_score,
        "execution_time": round(r.execution_time, 3),
        "output": summary,
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "verdict": scored.verdict,
            "raw_score": scored.raw_score,
            "late": scored.late.message,
            "student": r.student,
            "isolation": r.environment.get("isolation_mode"),
            **scored.student_measurements(),
            "environment": r.environment,
            "phases": r.phases,
            "instructor_only": {
                "measurements": {k: v for k, v in r.measurements.items() if k.startswith(INSTRUCTOR_ONLY_PREFIXES)},
                "tests": kept_back,
            },
        },
    }
    board = leaderboard(scored)
    if board:
        results["leaderboard"] = board
    return results


def write(scored: ScoredResult, path: Path) -> Path:
    path.write_text(json.dumps(render(scored), indent=2, default=str) + "\n")
    return path
