"""The judgement of one submission: what each check found to be true, with its evidence. It
carries no points and no verdict: the rubric (scoring/) decides what a judgement is worth and
whether the submission passed, in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from grader.course.calibration import Standard

PASSED, FAILED, ERROR, NOT_RUN = "passed", "failed", "error", "not_run"
VISIBLE, HIDDEN, AFTER_DUE_DATE, AFTER_PUBLISHED = "visible", "hidden", "after_due_date", "after_published"


@dataclass
class Check:
    id: str
    name: str
    status: str  # passed | failed | error (the grader could not judge) | not_run
    message: str
    expected: Any = None
    measured: Any = None
    visibility: str = VISIBLE  # Gradescope's values; anything but visible stays out of the student's report
    basis: str = ""  # where the facts come from: observed in the run, read from files, measured, claimed
    informational: bool = False  # carries no signal here (a flag for the instructor, or a metric the reference cannot beat): worth 0 points
    seconds: float = 0.0  # how long the grader took to judge it (JUnit's time)


@dataclass
class GradingResult:
    submission: str
    profile: str
    checks: list[Check]
    execution_time: float
    measurements: dict = field(default_factory=dict)  # for display; scoring reads `standard`, never this
    environment: dict = field(default_factory=dict)
    log_excerpt: str = ""
    facts: list[dict] = field(default_factory=list)  # {"fact", "basis"}: what the verdict rests on
    student: str = ""  # the roster's name for the student, when graded from a roster
    standard: Standard | None = None  # thresholds and baseline the metric checks were judged against
    phases: dict = field(default_factory=dict)  # seconds per grading phase (model, fetch, copy, run, evaluate, score)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GradingResult:
        standard = Standard.from_dict(data["standard"]) if data.get("standard") else None
        return cls(**data | {"checks": [Check(**c) for c in data["checks"]], "standard": standard})
