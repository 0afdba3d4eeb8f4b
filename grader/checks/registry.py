"""One registry of checks. A check is declared once, beside the function that judges it: its id,
its title, where its facts come from (basis), who may see it, and whether it only informs. Adding
a check is one decorated function plus one rubric line.

Every check function takes the findings of one run and the profile's calibration and returns a
Judged; a check that raises is recorded as `error` (the grader could not judge), never as a pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grader.checks.judgement import ERROR, FAILED, NOT_RUN, PASSED, VISIBLE, Check
from grader.course.calibration import Calibration
from grader.evidence.findings import Findings

OBSERVED = "observed in the run by the grader's probe"
MEASURED = "measured by the grader"
READ = "read from the saved files"
CLAIMED = "printed by the student's code"
INFERRED = "inferred"
RUN_RECORD = "observed by the grader (exit status, stderr)"
WALL_CLOCK = "observed by the grader (wall clock)"
INTAKE = "done by the grader before the run"


@dataclass(frozen=True)
class Judged:
    """What one check found: its status and the evidence for it."""

    status: str
    message: str
    expected: Any = None
    measured: Any = None
    informational: bool = False  # this time only (a metric the profile's reference cannot beat)


def passed(message: str, expected: Any = None, measured: Any = None, informational: bool = False) -> Judged:
    return Judged(PASSED, message, expected, measured, informational)


def failed(message: str, expected: Any = None, measured: Any = None, informational: bool = False) -> Judged:
    return Judged(FAILED, message, expected, measured, informational)


def not_run(message: str, expected: Any = None, measured: Any = None, informational: bool = False) -> Judged:
    return Judged(NOT_RUN, message, expected, measured, informational)


JudgeFunction = Callable[[Findings, Calibration], Judged]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    basis: str
    visibility: str
    informational: bool  # always worth 0 points (a signal for the instructor)
    judge: JudgeFunction

    def run(self, findings: Findings, calibration: Calibration) -> Check:
        started = time.perf_counter()
        try:
            judged = self.judge(findings, calibration)
        except Exception as exc:  # a grader fault is reported, never turned into a pass
            judged = Judged(ERROR, f"the grader could not judge this check: {type(exc).__name__}: {exc}")
        return Check(
            self.id,
            self.title,
            judged.status,
            judged.message,
            judged.expected,
            judged.measured,
            self.visibility,
            self.basis,
            self.informational or judged.informational,
            round(time.perf_counter() - started, 6),
        )


REGISTRY: dict[str, CheckSpec] = {}


def check(
    id: str, title: str, basis: str, visibility: str = VISIBLE, informational: bool = False
) -> Callable[[JudgeFunction], JudgeFunction]:
    """Register the decorated function as the check `id`."""

    def register(function: JudgeFunction) -> JudgeFunction:
        if id in REGISTRY:
            raise ValueError(f"check {id!r} is declared twice")
        REGISTRY[id] = CheckSpec(id, title, basis, visibility, informational, function)
        return function

    return register


def judge_all(findings: Findings, calibration: Calibration) -> list[Check]:
    return [spec.run(findings, calibration) for spec in REGISTRY.values()]
