"""Gradescope's results.json. Every criterion is a test carrying its rubric visibility, which
Gradescope enforces; held-out and claimed measurements never go in the top-level extra_data."""

from __future__ import annotations

import json
from pathlib import Path

from grader.checks.judgement import PASSED
from grader.scoring.score import CriterionScore, ScoredResult


def _details(c: CriterionScore) -> str:
    text = c.message
    if c.expected is not None or c.measured is not None:
        text += f"\nexpected: {c.expected}\nmeasured: {c.measured}"
    if c.partial:
        text += f"\n{c.partial}"
    return text


def _tags(c: CriterionScore, unscored: bool) -> list[str]:
    tags = [c.check]
    tags += ["informational"] if c.informational else []
    tags += ["not-in-result"] if c.absent else []
    tags += ["not-in-rubric"] if unscored else []
    return tags


def render(scored: ScoredResult) -> dict:
    tests = []
    for unscored, items in ((False, scored.criteria), (True, scored.unscored)):
        for c in items:
            tests.append(
                {
                    "name": c.name,
                    "number": str(len(tests) + 1),
                    "score": c.score,
                    "max_score": c.max_score,
                    "status": "passed" if c.status == PASSED else "failed",
                    "output": _details(c),
                    "tags": _tags(c, unscored),
                    "visibility": c.visibility,
                    "extra_data": {
                        "grader_status": c.status,
                        "expected": c.expected,
                        "measured": c.measured,
                        "required": c.required,
                        "absent": c.absent,
                    },
                }
            )
    r = scored.result
    summary = f"Verdict: {scored.verdict} ({scored.score:g}/{scored.max_score:g}) on profile {r.profile}, rubric {scored.rubric.name!r}"
    if scored.late.penalty_percent:
        summary += f"\nLate: {scored.late.message}; {scored.raw_score:g} before the penalty"
    return {
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
            **scored.student_measurements(),
            "environment": r.environment,
        },
    }


def write(scored: ScoredResult, path: Path) -> Path:
    path.write_text(json.dumps(render(scored), indent=2, default=str) + "\n")
    return path
