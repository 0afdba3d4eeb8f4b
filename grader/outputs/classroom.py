"""GitHub Classroom runner results, laid out so that the grading reporter shows the grader's score.

The reporter (education/autograding-grading-reporter, released as
classroom-resources/autograding-grading-reporter@v1) reads one base64 JSON result per runner
from `<RUNNER>_RESULTS` and computes two totals:
- the Actions log: per runner (tests passed / tests) x the runner's `max_score`;
- the points it sends to Classroom (a "Points X/Y" notice): the sum of every test's `score`
  over the sum of `max_score`, leaving out runners whose `max_score` is 0.
It prints a test's `message` only when the test's status is `error`; a failed test shows its
name alone. So one runner with many tests misstates the score (a 75/75 pass read 68.75), and a
failure without its reason in the name is silent.

Layout: one runner per always-visible rubric criterion, one `withheld` runner for all criteria a
student may not see in full, and one `unearned` runner for points a passed runner cannot carry.
Each runner holds one test, and a runner whose test passes has `max_score` equal to the points
it earned; points not earned by partial credit, withheld criteria or the late penalty go to the
`unearned` runner, whose tests all fail. Both totals then equal the grader's score and maximum.
A failed test's name carries its reason. The runner ids are fixed when a workflow is generated
from a rubric (`layout`); `not_graded` gives each one a result for a grading that wrote none.
Checks the rubric does not name are worth nothing and have no runner (result.md lists them).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from grader.checks.judgement import ERROR, PASSED
from grader.checks.registry import REGISTRY
from grader.outputs.wording import log_line, one_line, reason
from grader.scoring.rubric import Rubric
from grader.scoring.rubric_schema import VISIBILITIES
from grader.scoring.score import CriterionScore, ScoredResult

VERSION = 3
WITHHELD, UNEARNED = "withheld", "unearned"
NAME_LIMIT = 400  # a test name is one line of the Actions log


@dataclass(frozen=True)
class Layout:
    """The runners a workflow lists: (runner id, check id) per always-visible criterion, then
    `withheld` and `unearned` when the rubric can need them."""

    criteria: tuple[tuple[str, str], ...]
    withheld: bool
    unearned: bool

    def ids(self) -> list[str]:
        return [rid for rid, _ in self.criteria] + [WITHHELD] * self.withheld + [UNEARNED] * self.unearned


def runner_id(check: str) -> str:
    """`trainable_parameters` -> `trainableParameters`: letters and digits only, which is what the
    reporter's own error path accepts as a runner list."""
    first, *rest = check.split("_")
    return "".join(ch for ch in first + "".join(p[:1].upper() + p[1:] for p in rest) if ch.isalnum())


def always_visible(check: str, visibility: str) -> bool:
    declared = REGISTRY[check].visibility if check in REGISTRY else "visible"
    return max(visibility, declared, key=VISIBILITIES.index) == "visible"


def layout(rubric: Rubric) -> Layout:
    shown = tuple((runner_id(c.check), c.check) for c in rubric.criteria if always_visible(c.check, c.visibility))
    kept = [c for c in rubric.criteria if not always_visible(c.check, c.visibility)]
    unearned = bool(rubric.late_policy) or any(c.partial_credit for c in rubric.criteria) or any(c.points > 0 for c in kept)
    return Layout(shown, bool(kept), unearned)


def _test(name: str, status: str, score: float, message: str = "") -> dict:
    return {
        "name": one_line(log_line(name), NAME_LIMIT),  # the reporter prints it in the Actions log
        "status": status,
        "message": one_line(log_line(message or name), NAME_LIMIT),
        "test_code": "",  # printed under every test as "Test code:"; nothing to show
        "filename": "",
        "line_no": 0,
        "duration": 0,
        "score": score,
    }


def _runner(status: str, max_score: float, tests: list[dict]) -> dict:
    return {"version": VERSION, "status": status, "max_score": max_score, "tests": tests}


def _runner_status(items: list[CriterionScore]) -> str:
    """What makes the reporter fail the job: a required criterion that failed (or could not be judged)."""
    counted = [c for c in items if c.required and not c.absent]
    if any(c.status == ERROR for c in counted):
        return "error"
    return "fail" if any(c.status != PASSED for c in counted) else "pass"


def _earned(scored: ScoredResult) -> dict[str, float]:
    """Each criterion's points after the late penalty, adjusted so that they add up to the score."""
    keep = 1 - scored.late.penalty_percent / 100
    earned = {c.check: round(c.score * keep, 4) for c in scored.criteria}
    residual = round(scored.score - sum(earned.values()), 4)
    if residual and earned:
        largest = max(earned, key=earned.get)
        earned[largest] = round(earned[largest] + residual, 4)
    return earned


Lost = tuple[list[tuple[str, float]], float]  # (name, points) not earned before the penalty; the penalty's share


def _carried(label: str, name: str, runner_status: str, full: float, raw: float, earned: float) -> tuple[dict, Lost]:
    """A runner whose one test passes with the points earned; the rest goes to `unearned`."""
    missed = round(full - raw, 4)
    return _runner(runner_status, earned, [_test(name, "pass", earned)]), ([(label, missed)] if missed > 0 else [], raw - earned)


def _criterion(c: CriterionScore, earned: float) -> tuple[dict, Lost]:
    """One criterion's runner, and what it leaves to the `unearned` runner."""
    if c.informational:
        name = f"{c.name}: informational on this profile, 0 points ({c.status}: {reason(c)})"
        return _runner("pass", 0, [_test(name, "pass", 0)]), ([], 0.0)
    if earned > 0 or c.status == PASSED:
        name = f"{c.name}: {earned:g} of {c.max_score:g} points"
        if c.status != PASSED:
            name += f" by partial credit; {c.status}: {reason(c)}"
        elif c.partial:
            name += f" ({c.partial})"
        return _carried(f"{c.name} (partial credit)", name, _runner_status([c]), c.max_score, c.score, earned)
    if c.status == ERROR:
        message = f"{c.name}: 0 of {c.max_score:g} points; the grader could not judge it: {reason(c)}"
        return _runner(_runner_status([c]), c.max_score, [_test(message, "error", 0, message)]), ([], 0.0)
    name = f"{c.name}: 0 of {c.max_score:g} points; {c.status}: {reason(c)}"
    return _runner(_runner_status([c]), c.max_score, [_test(name, "fail", 0)]), ([], 0.0)


def _withheld(items: list[CriterionScore], earned: float) -> tuple[dict, Lost]:
    full, raw = round(sum(c.max_score for c in items), 4), round(sum(c.score for c in items), 4)
    name = (
        f"Withheld criteria ({len(items)}): {earned:g} of {full:g} points; details are released after the due date, "
        "when grades are published, or never (hidden)"
    )
    status = _runner_status(items)
    if earned > 0 or status == "pass":
        return _carried("Withheld criteria", name, status, full, raw, earned)
    return _runner(status, full, [_test(name, "fail", 0)]), ([], 0.0)


def runners(scored: ScoredResult) -> dict[str, dict]:
    """Runner id -> the result the reporter reads, for the rubric this result was scored with."""
    plan = layout(scored.rubric)
    earned = _earned(scored)
    by_check = {c.check: c for c in scored.criteria}
    results, missed, penalty = {}, [], 0.0
    for rid, check in plan.criteria:
        results[rid], (missed_here, penalty_here) = _criterion(by_check[check], earned[check])
        missed, penalty = missed + missed_here, penalty + penalty_here
    shown = {check for _, check in plan.criteria}
    kept = [c for c in scored.criteria if c.check not in shown]
    if plan.withheld:
        results[WITHHELD], (missed_here, penalty_here) = _withheld(kept, round(sum(earned[c.check] for c in kept), 4))
        missed, penalty = missed + missed_here, penalty + penalty_here
    if plan.unearned:
        results[UNEARNED] = _unearned(missed, round(penalty, 4), scored.late.message)
    return results


NOTHING_LOST = "No points lost to partial credit, withheld criteria or the late penalty"


def _unearned(missed: list[tuple[str, float]], penalty: float, late_message: str) -> dict:
    tests = [_test(f"{name}: {points:g} points not earned", "fail", 0) for name, points in missed]
    if penalty > 0:
        tests.append(_test(f"Late penalty: {penalty:g} points ({late_message})", "fail", 0))
    total = round(sum(points for _, points in missed) + penalty, 4)
    if not tests:
        return _runner("pass", 0, [_test(NOTHING_LOST, "pass", 0)])
    return _runner("pass", total, tests)


def not_graded(rubric: Rubric, reason: str) -> dict[str, dict]:
    """A result for every runner of `rubric` when grading wrote none: an error worth 0 of the
    criterion's points, so Classroom records 0 and the job fails with the reason."""
    plan = layout(rubric)
    points = {c.check: c.points for c in rubric.criteria}
    shown = {check for _, check in plan.criteria}
    results = {rid: _runner("error", points[check], [_test(reason, "error", 0, reason)]) for rid, check in plan.criteria}
    if plan.withheld:
        kept = sum(p for check, p in points.items() if check not in shown)
        results[WITHHELD] = _runner("error", kept, [_test(reason, "error", 0, reason)])
    if plan.unearned:
        results[UNEARNED] = _runner("pass", 0, [_test(NOTHING_LOST, "pass", 0)])
    return results


def encode(result: dict) -> str:
    return base64.b64encode(json.dumps(result, default=str).encode()).decode()


def output_lines(results: dict[str, dict]) -> str:
    """`id=base64` per runner: what a step appends to $GITHUB_OUTPUT for the reporter's env."""
    return "".join(f"{rid}={encode(result)}\n" for rid, result in results.items())
