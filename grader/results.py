"""The one results model. Every output (results.json, report.html) serialises it; nothing
re-derives a verdict while rendering."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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
    required: bool = True  # informational checks are reported but do not decide the verdict
    max_score: float = 1.0
    visibility: str = VISIBLE  # Gradescope's values; anything but visible stays out of the student's report
    basis: str = ""  # where the facts come from: observed in the run, read from files, measured, claimed

    @property
    def score(self) -> float:
        return self.max_score if self.status == PASSED else 0.0

    @property
    def student_visible(self) -> bool:
        return self.visibility == VISIBLE


@dataclass
class GradingResult:
    submission: str
    profile: str
    checks: list[Check]
    execution_time: float
    measurements: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)
    log_excerpt: str = ""
    facts: list[dict] = field(default_factory=list)  # {"fact", "basis"}: what the verdict rests on
    student: str = ""  # the roster's name for the student, when graded from a roster

    @property
    def student_checks(self) -> list[Check]:
        return [c for c in self.checks if c.student_visible]

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.checks)

    @property
    def passed(self) -> bool:
        return all(c.status == PASSED for c in self.checks if c.required)

    @property
    def verdict(self) -> str:
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict:
        return {
            "submission": self.submission,
            "student": self.student,
            "profile": self.profile,
            "verdict": self.verdict,
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": self.execution_time,
            "checks": [asdict(c) | {"score": c.score} for c in self.checks],
            "measurements": self.measurements,
            "environment": self.environment,
            "facts": self.facts,
        }
