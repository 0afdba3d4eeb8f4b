"""Checks on the grader's own evaluation of the adapter (validation for the student, the
held-out test split for the instructor), and on what the student's output claims about it."""

from __future__ import annotations

import math

from grader.checks.judgement import HIDDEN
from grader.checks.registry import CLAIMED, MEASURED, Judged, check, failed, not_run, passed
from grader.course.calibration import Calibration
from grader.evidence.findings import Findings

CLAIM_TOLERANCE = 0.02  # absolute; about 8 of MRPC's 408 validation pairs
GAP_STANDARD_ERRORS = 3.0  # a validation/test gap this many standard errors wide is not chance


def _metric(metric: str, f: Findings, cal: Calibration) -> Judged:
    ev, thresholds, baseline = f.evidence, cal.thresholds, cal.majority_baseline
    info = thresholds.informational
    note = " (informational: this profile's reference cannot beat the majority class)" if info else ""
    expected = f">= {thresholds.value(metric):.4f}"
    if ev.evaluation is None:
        if ev.evaluation_error:
            return failed(f"the grader could not evaluate the adapter: {ev.evaluation_error}{note}", expected, informational=info)
        return not_run(f"no adapter to evaluate{note}", expected, informational=info)
    value = ev.evaluation[metric]
    message = f"measured by the grader on {ev.evaluation['examples']} validation pairs: {value:.4f}{note}"
    if abs(value - baseline.value(metric)) < 1e-9:
        message += f"; equals the majority-class baseline ({baseline.value(metric):.4f})"
    verdict = passed if thresholds.reached(metric, value) else failed
    return verdict(message, expected, round(value, 4), informational=info)


@check("accuracy", "Validation accuracy reaches the threshold", MEASURED)
def accuracy(f: Findings, cal: Calibration) -> Judged:
    return _metric("accuracy", f, cal)


@check("f1", "Validation F1 reaches the threshold", MEASURED)
def f1(f: Findings, cal: Calibration) -> Judged:
    return _metric("f1", f, cal)


@check("collapse", "Predictions are not collapsed to one class", MEASURED)
def collapse(f: Findings, cal: Calibration) -> Judged:
    """One predicted class everywhere is named as such, whatever the metric thresholds say."""
    ev, info = f.evidence, cal.thresholds.informational
    expected = "both classes predicted on the validation split"
    note = " (informational: this profile's reference collapses too)" if info else ""
    if ev.evaluation is None:
        return not_run(f"no evaluation to inspect{note}", expected, informational=info)
    rate, n = ev.evaluation.get("positive_rate"), ev.evaluation.get("examples", 0)
    if rate is None:
        return not_run(f"the stored evaluation has no share of positive predictions{note}", expected, informational=info)
    measured = {"positive_rate": round(rate, 4)}
    if rate in (0.0, 1.0):
        label = "1 (equivalent)" if rate == 1.0 else "0 (not equivalent)"
        message = (
            f"the model predicts class {label} for all {n} validation pairs: accuracy {ev.evaluation['accuracy']:.4f} / "
            f"F1 {ev.evaluation['f1']:.4f} is what a constant answer scores, not learning{note}"
        )
        return failed(message, expected, measured, informational=info)
    return passed(f"{rate:.1%} of {n} validation pairs predicted as equivalent{note}", expected, measured, informational=info)


def gap_limit(accuracy: float, n_validation: int, n_test: int) -> float:
    """GAP_STANDARD_ERRORS standard errors of the difference of two independent accuracies."""
    p = min(max(accuracy, 0.01), 0.99)
    return GAP_STANDARD_ERRORS * math.sqrt(p * (1 - p) / n_validation + p * (1 - p) / n_test)


@check("test_metrics", "Held-out test split agrees with validation", MEASURED, visibility=HIDDEN, informational=True)
def held_out_test_agrees(f: Findings, _: Calibration) -> Judged:
    """The held-out test split beside validation; a gap beyond chance is flagged. Instructor only."""
    ev = f.evidence
    if ev.evaluation is None:
        return not_run("no adapter the grader could evaluate")
    if ev.test_evaluation is None:
        return not_run(ev.test_evaluation_error or "the test split was not evaluated")
    val, test = ev.evaluation, ev.test_evaluation
    limit = gap_limit((val["accuracy"] + test["accuracy"]) / 2, val["examples"], test["examples"])
    gap = val["accuracy"] - test["accuracy"]
    measured = {
        split: {k: round(m[k], 4) for k in ("accuracy", "f1", "positive_rate")} | {"examples": m["examples"]}
        for split, m in (("validation", val), ("test", test))
    }
    side_by_side = (
        f"validation accuracy {val['accuracy']:.4f} / F1 {val['f1']:.4f} ({val['examples']} pairs); "
        f"test accuracy {test['accuracy']:.4f} / F1 {test['f1']:.4f} ({test['examples']} pairs)"
    )
    expected = f"|validation - test accuracy| <= {limit:.4f} ({GAP_STANDARD_ERRORS:g} standard errors)"
    if abs(gap) > limit:
        direction = "validation is better: tuned to (or trained on) the validation split?" if gap > 0 else "test is better"
        return failed(f"{side_by_side}; gap {gap:+.4f} is beyond chance ({direction})", expected, measured)
    return passed(f"{side_by_side}; gap {gap:+.4f} within chance", expected, measured)


@check(
    "claimed_metrics",
    "Metrics the run printed match the grader's",
    f"{CLAIMED}, compared with what was {MEASURED}",
    visibility=HIDDEN,
    informational=True,
)
def claimed_metrics(f: Findings, _: Calibration) -> Judged:
    """What the student printed against what the grader measured. Instructor only."""
    ev, found = f.evidence, f.claims
    expected = f"within {CLAIM_TOLERANCE} of the grader's validation metrics"
    if not found:
        return not_run("the run printed no accuracy or F1", expected)
    claimed = {metric: round(claim.value, 4) for metric, claim in found.items()}
    if ev.evaluation is None:
        return not_run(f"the run claims {claimed}, but the grader had no adapter to measure", expected, {"claimed": claimed})
    differences = {metric: round(claim.value - ev.evaluation[metric], 4) for metric, claim in found.items()}
    measured = {"claimed": claimed, "measured": {m: round(ev.evaluation[m], 4) for m in found}, "difference": differences}
    off = [m for m, d in differences.items() if abs(d) > CLAIM_TOLERANCE]
    if off:
        parts = [f'{m} claimed {found[m].value:.4f} ("{found[m].line}"), measured {ev.evaluation[m]:.4f}' for m in off]
        return failed("; ".join(parts) + f": differs by more than {CLAIM_TOLERANCE}", expected, measured)
    return passed(f"last printed {claimed} agree with the grader's measurement", expected, measured)
