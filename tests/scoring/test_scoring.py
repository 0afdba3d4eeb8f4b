"""Scoring stored judgements with rubrics: partial credit, informational checks, absent and
unscored checks, late penalty, submission time from git, and re-scoring without training."""

import json
import shutil
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from grader import cli
from grader.checks.judgement import ERROR, FAILED, NOT_RUN
from grader.course import calibration
from grader.evidence import adapter as adapter_io
from grader.outputs import store
from grader.run import execute
from grader.scoring import rubric
from grader.scoring import score as scoring
from tests import helpers
from tests.helpers import SUBMISSIONS

DEADLINE = datetime(2026, 12, 1, 23, 59, tzinfo=timezone(timedelta(hours=8)))


def write_rubric(tmp_path, criteria: str, extra: str = "", name: str = "r.yaml") -> rubric.Rubric:
    path = tmp_path / name
    path.write_text(f"name: Test rubric\n{extra}criteria:\n{criteria}")
    return rubric.load(path)


def judged(folder, tiny, counting_metrics=False, threshold_shift=0.0):
    """Judge the stored evidence again; optionally as a profile whose metrics count."""
    profile, calib = tiny
    if counting_metrics:
        t = calib.thresholds
        calib = replace(
            calib,
            thresholds=replace(
                t, informational=False, accuracy=round(t.accuracy + threshold_shift, 4), f1=round(t.f1 + threshold_shift, 4)
            ),
        )
    return helpers.judged(folder, (profile, calib), seconds=1.0)


def metric_rubric(tmp_path, floor, target, points=6):
    return write_rubric(
        tmp_path, f"  - check: accuracy\n    points: {points}\n    partial_credit: {{rule: linear, floor: {floor}, target: {target}}}\n"
    )


def accuracy_of(scored):
    return next(c for c in scored.criteria if c.check == "accuracy")


def test_partial_credit_at_below_and_between_the_bounds(graded, tiny, tmp_path):
    result = judged(graded["good"], tiny, counting_metrics=True, threshold_shift=0.2)  # the check fails...
    check = next(c for c in result.checks if c.id == "accuracy")
    measured = check.measured
    assert check.status == FAILED and not check.informational
    # ...and partial credit decides the points.
    at_target = accuracy_of(scoring.score(result, metric_rubric(tmp_path, round(measured - 0.1, 4), measured)))
    above = accuracy_of(scoring.score(result, metric_rubric(tmp_path, round(measured - 0.2, 4), round(measured - 0.1, 4))))
    at_floor = accuracy_of(scoring.score(result, metric_rubric(tmp_path, measured, round(measured + 0.1, 4))))
    below = accuracy_of(scoring.score(result, metric_rubric(tmp_path, round(measured + 0.01, 4), round(measured + 0.1, 4))))
    floor, target = round(measured - 0.05, 4), round(measured + 0.15, 4)
    between = accuracy_of(scoring.score(result, metric_rubric(tmp_path, floor, target)))
    assert (at_target.score, above.score, at_floor.score, below.score) == (6, 6, 0, 0)
    assert between.score == round(6 * (measured - floor) / (target - floor), 2) and 0 < between.score < 6
    assert f"{measured:.4f} on a line from {floor:.4f} (0 points) to {target:.4f} (6 points) earns {between.score:g}" in between.partial
    assert between.status == FAILED and between.max_score == 6


def test_partial_credit_from_the_calibration(graded, tiny, tmp_path):
    result = judged(graded["good"], tiny, counting_metrics=True, threshold_shift=0.2)
    scored = scoring.score(result, metric_rubric(tmp_path, "majority_baseline", "threshold"))
    baseline, threshold = tiny[1].majority_baseline.accuracy, result.standard.thresholds.accuracy
    measured = accuracy_of(scored).measured
    assert accuracy_of(scored).score == round(6 * min(1, max(0, (measured - baseline) / (threshold - baseline))), 2)
    result.standard = replace(result.standard, majority_baseline=None)  # a result stored without the baseline cannot be scored this way
    broken = accuracy_of(scoring.score(result, metric_rubric(tmp_path, "majority_baseline", "threshold")))
    assert broken.status == ERROR and "majority_baseline for `accuracy`" in broken.message and broken.score == 0


def test_informational_checks_stay_informational(graded, tiny, tmp_path):
    result = judged(graded["good"], tiny)  # tiny: the reference cannot beat the majority class
    scored = scoring.score(
        result, write_rubric(tmp_path, "  - {check: run, points: 2}\n  - {check: accuracy, points: 10, required: true}\n")
    )
    accuracy = accuracy_of(scored)
    assert accuracy.informational and not accuracy.required and (accuracy.score, accuracy.max_score) == (0, 0)
    assert scored.max_score == 2 and scored.passed


def test_absent_and_unscored_checks(graded, tiny, tmp_path):
    result = judged(graded["good"], tiny)
    result.checks = [c for c in result.checks if c.id != "collapse"]  # judged before the grader had this check
    scored = scoring.score(result, write_rubric(tmp_path, "  - {check: budget, points: 3}\n  - {check: collapse, points: 5}\n"))
    absent = next(c for c in scored.criteria if c.check == "collapse")
    assert (absent.status, absent.score, absent.max_score, absent.absent) == (NOT_RUN, 0, 5, True)
    assert "this result has no `collapse` check" in absent.message
    assert scored.passed and scored.score == 3 and scored.max_score == 8  # the grader's gap does not fail the student
    assert {c.check for c in scored.unscored} == {c.id for c in result.checks} - {"budget"}
    assert all(c.score == c.max_score == 0 and not c.required for c in scored.unscored)
    assert any("`collapse` has no check" in w for w in scored.warnings)
    run_required = scoring.score(judged(graded["crash"], tiny), write_rubric(tmp_path, "  - {check: run, points: 3}\n"))
    assert not run_required.passed and run_required.verdict == "failed"


@pytest.mark.parametrize(
    "offset, expected_days, expected_percent",
    [
        (timedelta(hours=-1), 0, 0),
        (timedelta(minutes=10), 0, 0),  # within the 15-minute grace
        (timedelta(hours=1), 1, 10),
        (timedelta(days=3, hours=1), 4, 40),
        (timedelta(days=9), 9, 50),  # capped
    ],
)
def test_late_penalty(graded, tiny, tmp_path, offset, expected_days, expected_percent):
    policy = f"late_policy: {{deadline: '{DEADLINE.isoformat()}', penalty_per_day_percent: 10, cap_percent: 50, grace_minutes: 15}}\n"
    scored = scoring.score(
        judged(graded["good"], tiny),
        write_rubric(tmp_path, "  - {check: run, points: 7}\n  - {check: budget, points: 3}\n", policy),
        (DEADLINE + offset).isoformat(),
        "--submitted-at",
    )
    assert (scored.late.days_late, scored.late.penalty_percent) == (expected_days, expected_percent)
    assert scored.raw_score == 10 and scored.score == pytest.approx(10 * (1 - expected_percent / 100))
    assert ("capped" in scored.late.message) == (expected_days * 10 > 50)


def test_unknown_submission_time_applies_no_penalty(graded, tiny, tmp_path):
    policy = f"late_policy: {{deadline: '{DEADLINE.isoformat()}', penalty_per_day_percent: 10}}\n"
    scored = scoring.score(judged(graded["good"], tiny), write_rubric(tmp_path, "  - {check: run, points: 1}\n", policy), None, "unknown")
    assert scored.late.penalty_percent == 0 and "unknown" in scored.late.message


def test_rescore_changes_scores_without_training(graded, tmp_path):
    folder = tmp_path / "moved-good"
    shutil.copytree(graded["good"], folder)  # a moved folder still finds its evidence
    before = json.loads((folder / "results.json").read_text())
    evidence_before = (folder / "evidence" / "evidence.json").read_bytes()
    new_rubric = tmp_path / "heavy-run.yaml"
    new_rubric.write_text(
        "name: Running is all\ncriteria:\n  - {check: run, points: 45}\n  - {check: ia3_trained, points: 25, visibility: hidden}\n"
    )
    stored = {p: p.stat().st_mtime_ns for p in (folder / "evidence").rglob("*")}
    code = cli.main(["rescore", str(folder), "--rubric", str(new_rubric)])
    after = json.loads((folder / "results.json").read_text())
    assert code == 0
    # judged from stored evidence, not run again: not a file of the evidence written, added or removed
    assert {p: p.stat().st_mtime_ns for p in (folder / "evidence").rglob("*")} == stored
    assert (folder / "evidence" / "evidence.json").read_bytes() == evidence_before
    assert after["max_score"] == 70 and after["score"] == 70 and before["max_score"] != 70
    statuses_before = {t["tags"][0]: t["extra_data"]["grader_status"] for t in before["tests"]}
    statuses_after = {t["tags"][0]: t["extra_data"]["grader_status"] for t in after["tests"]}
    assert statuses_after == {k: v for k, v in statuses_before.items() if k in statuses_after}
    assert [t["visibility"] for t in after["tests"] if t["tags"][0] == "ia3_trained"] == ["hidden"]
    reloaded = store.load(folder)
    assert reloaded.rubric.name == "Running is all" and reloaded.late.submitted_at == "2026-11-20T12:00:00+00:00"


def test_rescore_of_a_folder_without_evidence_says_what_to_do(tmp_path, capsys):
    assert cli.main(["rescore", str(tmp_path), "--profile", "tiny"]) == 2
    assert "no evidence.json" in capsys.readouterr().err


def test_broken_rubric_stops_grading_before_training(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncriteria:\n  - {check: run, points: lots}\n")
    started = []
    monkeypatch.setattr(execute, "run", lambda *args, **kwargs: started.append(args) or pytest.fail("a run was started"))
    assert cli.main([str(SUBMISSIONS / "good"), "--profile", "tiny", "--out", str(tmp_path / "out"), "--rubric", str(bad)]) == 2
    assert started == [] and not (tmp_path / "out").exists()
    assert f"{bad}:3: criteria[0].points: expected a number, found 'lots'" in capsys.readouterr().err


def test_an_adapter_identical_to_the_reference_solutions_is_flagged_for_the_instructor_only(graded, tmp_path, monkeypatch):
    """The calibration records the reference adapter's tensor digest; a student adapter with the same
    tensors (re-saved or not) is flagged in the instructor's view, never scored, never shown to the student."""
    calibration_file = tmp_path / "calibration" / "tiny.json"
    calibration_file.parent.mkdir()
    stored = json.loads(calibration.path_for("tiny").read_text())
    assert "adapter_tensors_sha256" not in stored["reference_run"]  # tiny's committed record keeps no adapter
    calibration_file.write_text(json.dumps(stored))
    monkeypatch.setattr(calibration, "CALIBRATION_DIR", calibration_file.parent)
    student_adapter = adapter_io.read(graded["good"] / "evidence" / "adapter")

    def rescored(name):
        folder = tmp_path / name
        shutil.copytree(graded["good"], folder)
        assert cli.main(["rescore", str(folder), "--instructor"]) == 0  # informational: the score does not move
        results = json.loads((folder / "results.json").read_text())
        instructor_only = results["extra_data"]["instructor_only"]["tests"]  # a 0-point hidden check: stored, never shown
        assert all(t["tags"][0] != "reference_copy" for t in results["tests"])
        check = next(t for t in instructor_only if t["tags"][0] == "reference_copy")
        return results, check

    before, check = rescored("no-reference-recorded")
    assert check["extra_data"]["grader_status"] == NOT_RUN and "records no reference adapter" in check["output"]
    stored["reference_run"]["adapter_tensors_sha256"] = student_adapter.tensors_digest
    calibration_file.write_text(json.dumps(stored))
    after, check = rescored("same-as-reference")
    assert check["extra_data"]["grader_status"] == FAILED and "bit-identical to the reference solution's adapter" in check["output"]
    assert after["score"] == before["score"]
    student_report = (tmp_path / "same-as-reference" / "report.html").read_text()
    assert "reference solution" not in student_report
