"""A GitHub Classroom runner result: base64 of {version: 3, status, max_score, tests[]}, what
the autograding grading reporter reads from a runner step's `result` output. The reporter
prints every test in the student's Actions log, so only released criteria are named; the
withheld ones appear as one line that carries their points and nothing else."""

from __future__ import annotations

import base64
import json

from grader.checks.judgement import ERROR, PASSED
from grader.scoring.score import ScoredResult

VERSION = 3


def _status(status: str) -> str:
    return "pass" if status == PASSED else "error" if status == ERROR else "fail"


def result(scored: ScoredResult) -> dict:
    tests = []
    for c in scored.criteria + scored.unscored:
        if not scored.released(c):
            continue
        message = c.message + (
            f" (expected {c.expected}, measured {c.measured})" if c.expected is not None or c.measured is not None else ""
        )
        tests.append(
            {
                "name": c.name,
                "status": _status(c.status),
                "message": message + (f"; {c.partial}" if c.partial else ""),
                "test_code": c.check,
                "filename": "",
                "line_no": 0,
                "duration": 0,
                "score": c.score,
                "max_score": c.max_score,
            }
        )
    withheld = scored.withheld()
    if withheld:
        tests.append(
            {
                "name": f"{len(withheld)} withheld criteria",
                "status": "pass" if scored.withheld_passed() else "fail",
                "message": "graded; details are released after the due date, when grades are published, or never (hidden)",
                "test_code": "withheld",
                "filename": "",
                "line_no": 0,
                "duration": 0,
                "score": round(sum(c.score for c in withheld), 4),
                "max_score": round(sum(c.max_score for c in withheld), 4),
            }
        )
    if scored.penalty_points:
        tests.append(
            {
                "name": "Late penalty",
                "status": "fail",
                "message": scored.late.message,
                "test_code": "late",
                "filename": "",
                "line_no": 0,
                "duration": 0,
                "score": -scored.penalty_points,
                "max_score": 0,
            }
        )
    status = "error" if scored.could_not_judge else "pass" if scored.passed else "fail"
    return {"version": VERSION, "status": status, "max_score": scored.max_score, "tests": tests}


def encode(scored: ScoredResult) -> str:
    return base64.b64encode(json.dumps(result(scored), default=str).encode()).decode()
