"""Score a judgement with a rubric: points per criterion, partial credit, late penalty, verdict.

The checks say what happened (passed, failed, ...); the rubric says what that is worth. Keeping
the two apart is what lets a changed rubric re-score stored results without training again.
Every output (results.json, report.html, CSV, JUnit, Classroom) serialises a ScoredResult.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from grader.checks.judge import INSTRUCTOR_ONLY_PREFIXES
from grader.checks.judgement import ERROR, FAILED, NOT_RUN, PASSED, Check, GradingResult
from grader.course.calibration import Standard
from grader.scoring.rubric import Criterion, LatePolicy, Rubric
from grader.scoring.rubric_schema import VISIBILITIES


@dataclass
class CriterionScore:
    check: str
    name: str
    status: str  # the check's status; not_run when the grader produced no such check
    score: float
    max_score: float
    required: bool  # decides the verdict
    visibility: str
    message: str
    expected: object = None
    measured: object = None
    informational: bool = False  # the profile marks the check as not counted
    absent: bool = False  # the rubric names a check this result does not contain
    partial: str = ""  # how partial credit was computed, when it was


@dataclass
class Late:
    submitted_at: str | None  # ISO 8601
    source: str  # where the time came from
    days_late: int = 0
    penalty_percent: float = 0.0
    message: str = ""


@dataclass
class ScoredResult:
    result: GradingResult
    rubric: Rubric
    criteria: list[CriterionScore]
    unscored: list[CriterionScore]  # checks the rubric does not name: reported, worth nothing
    late: Late
    scored_at: str
    warnings: list[str] = field(default_factory=list)

    @property
    def raw_score(self) -> float:
        return round(sum(c.score for c in self.criteria), 4)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.criteria), 4)

    @property
    def penalty_points(self) -> float:
        return round(self.raw_score * self.late.penalty_percent / 100, 4)

    @property
    def score(self) -> float:
        return round(self.raw_score - self.penalty_points, 4)

    @property
    def passed(self) -> bool:
        """Every required criterion whose check ran passed. A criterion naming a check this
        result lacks (a rubric newer than the stored evidence) earns nothing but does not fail
        the student for the grader's gap; it is listed in `warnings`."""
        return all(c.status == PASSED for c in self.criteria if c.required and not c.absent)

    @property
    def verdict(self) -> str:
        return "passed" if self.passed else "failed"

    @property
    def could_not_judge(self) -> bool:
        return any(c.status == ERROR for c in self.criteria if c.required)

    @property
    def checks(self) -> list[Check]:
        return self.result.checks

    # --- visibility -------------------------------------------------------------------
    def released(self, item: CriterionScore) -> bool:
        """Whether a student may see this criterion's details at the time it was scored."""
        if item.visibility == "visible":
            return True
        if item.visibility == "after_due_date":
            deadline = self.rubric.late_policy.deadline if self.rubric.late_policy else None
            return deadline is not None and datetime.fromisoformat(self.scored_at) >= deadline
        if item.visibility == "after_published":
            return self.rubric.grades_published
        return False

    def withheld(self) -> list[CriterionScore]:
        return [c for c in self.criteria if not self.released(c)]

    def withheld_passed(self) -> bool:
        """The one status students see for all withheld criteria together (as the verdict counts them)."""
        return all(c.status == PASSED for c in self.withheld() if c.required and not c.absent)

    def student_measurements(self) -> dict:
        return {k: v for k, v in self.result.measurements.items() if not k.startswith(INSTRUCTOR_ONLY_PREFIXES)}

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "score": self.score,
            "raw_score": self.raw_score,
            "max_score": self.max_score,
            "penalty_points": self.penalty_points,
            "scored_at": self.scored_at,
            "rubric": self.rubric.to_dict(),
            "late": asdict(self.late),
            "criteria": [asdict(c) for c in self.criteria],
            "unscored": [asdict(c) for c in self.unscored],
            "warnings": self.warnings,
            "result": self.result.to_dict(),
        }


def _stricter(a: str, b: str) -> str:
    return max(a, b, key=VISIBILITIES.index)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _bound(value, kind: str, check_id: str, standard: Standard | None) -> float:
    """A partial-credit bound: a number, or the calibration's value the checks were judged with."""
    if isinstance(value, (int, float)):
        return float(value)
    table = None
    if standard is not None:
        table = standard.majority_baseline if kind == "floor" else standard.thresholds
    try:
        found = _number(table.value(check_id)) if table is not None else None
    except KeyError:
        found = None
    if found is None:
        raise LookupError(f"partial credit needs the calibration's {value} for `{check_id}`, which this result does not record")
    return found


def _partial(criterion: Criterion, check: Check, standard: Standard | None) -> tuple[float, str]:
    """Linear between floor (0 points) and target (full points), clamped at both ends."""
    rule = criterion.partial_credit
    measured = _number(check.measured)
    if measured is None:
        return 0.0, "partial credit: no measured value"
    floor, target = _bound(rule.floor, "floor", check.id, standard), _bound(rule.target, "target", check.id, standard)
    if floor >= target:
        raise LookupError(f"partial credit floor {floor:.4f} is not below target {target:.4f}")
    fraction = min(1.0, max(0.0, (measured - floor) / (target - floor)))
    points = round(criterion.points * fraction, 2)
    return (
        points,
        f"partial credit: {measured:.4f} on a line from {floor:.4f} (0 points) to {target:.4f} ({criterion.points:g} points) "
        f"earns {points:g}",
    )


def _score_one(criterion: Criterion, check: Check | None, standard: Standard | None) -> CriterionScore:
    if check is None:
        return CriterionScore(
            criterion.check,
            criterion.name or criterion.check,
            NOT_RUN,
            0.0,
            criterion.points,
            criterion.required,
            criterion.visibility,
            f"not scored: this result has no `{criterion.check}` check (the grader that produced it does not run it); re-grade to score it",
            absent=True,
        )
    visibility = _stricter(criterion.visibility, check.visibility)
    common = dict(
        check=check.id,
        name=criterion.name or check.name,
        status=check.status,
        visibility=visibility,
        message=check.message,
        expected=check.expected,
        measured=check.measured,
    )
    if check.informational:
        return CriterionScore(
            score=0.0,
            max_score=0.0,
            required=False,
            informational=True,
            **common | {"message": check.message + " [informational on this profile: worth 0 points]"},
        )
    score, partial = (criterion.points if check.status == PASSED else 0.0), ""
    if criterion.partial_credit and check.status in (PASSED, FAILED):
        try:
            score, partial = _partial(criterion, check, standard)
        except LookupError as exc:
            return CriterionScore(
                score=0.0,
                max_score=criterion.points,
                required=criterion.required,
                **common | {"status": ERROR, "message": f"{check.message}; the rubric could not be applied: {exc}"},
            )
    return CriterionScore(score=score, max_score=criterion.points, required=criterion.required, partial=partial, **common)


def late_penalty(policy: LatePolicy | None, submitted_at: str | None, source: str) -> Late:
    """Days late are counted per started day after the deadline (and its grace period). The
    message says which time was used and where it came from (`source`, intake/submitted.py)."""
    if policy is None:
        return Late(submitted_at, source, message="no late policy")
    if submitted_at is None:
        why = source.removeprefix("unknown (").removesuffix(")") if source.startswith("unknown (") else source
        return Late(None, source, message=f"submission time unknown: no late penalty applied ({why})")
    moment = datetime.fromisoformat(submitted_at)
    over = moment - (policy.deadline + timedelta(minutes=policy.grace_minutes))
    used = f"time used: {submitted_at}, {source}"
    if over <= timedelta(0):
        return Late(submitted_at, source, message=f"on time (deadline {policy.deadline.isoformat()}; {used})")
    days = math.ceil(over / timedelta(days=1))
    percent = min(policy.cap_percent, days * policy.penalty_per_day_percent)
    capped = " (capped)" if percent < days * policy.penalty_per_day_percent else ""
    return Late(
        submitted_at,
        source,
        days,
        percent,
        f"{days} day{'s' if days != 1 else ''} late (deadline {policy.deadline.isoformat()}; {used}): -{percent:g}% of the earned score"
        + capped,
    )


def score(
    result: GradingResult, rubric: Rubric, submitted_at: str | None = None, time_source: str = "unknown", now: datetime | None = None
) -> ScoredResult:
    checks = {c.id: c for c in result.checks}
    named = {c.check for c in rubric.criteria}
    criteria = [_score_one(c, checks.get(c.check), result.standard) for c in rubric.criteria]
    unscored = [
        CriterionScore(
            c.id,
            c.name,
            c.status,
            0.0,
            0.0,
            False,
            c.visibility,
            c.message + " [not in the rubric: worth 0 points]",
            c.expected,
            c.measured,
            informational=c.informational,
        )
        for c in result.checks
        if c.id not in named
    ]
    warnings = [f"rubric criterion `{c.check}` has no check in this result: scored 0, verdict unaffected" for c in criteria if c.absent]
    warnings += [f"check `{c.check}` is not in the rubric: reported, worth 0 points" for c in unscored]
    moment = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return ScoredResult(result, rubric, criteria, unscored, late_penalty(rubric.late_policy, submitted_at, time_source), moment, warnings)
