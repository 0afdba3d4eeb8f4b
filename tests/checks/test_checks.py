"""Checks judged on stored evidence with thresholds that count (the roberta-large calibration)."""

import json
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from grader import cli
from grader.checks import registry
from grader.checks.judge import judge
from grader.checks.judgement import ERROR, FAILED, NOT_RUN, PASSED
from grader.course import profiles
from grader.evidence.findings import Findings
from grader.evidence.record import Evidence
from grader.outputs import gradescope, report
from grader.run.runner import RunRecord
from grader.scoring import rubric
from grader.scoring.score import score


def evidence(tmp_path, evaluation=None, error=None, exit_code=0, timed_out=False):
    (tmp_path / "stderr.txt").write_text("Traceback (most recent call last):\n  ...\nRuntimeError: out of memory\n")
    (tmp_path / "stdout.txt").write_text("epoch 0 {'accuracy': 0.99}\n")
    run = RunRecord(
        ["python", "train.py"],
        None if timed_out else exit_code,
        12.5,
        timed_out,
        60,
        str(tmp_path / "stdout.txt"),
        str(tmp_path / "stderr.txt"),
    )
    return Findings.load(Evidence("sub", "train.py", None, run, "$GRADER_OUTPUT_DIR", evaluation=evaluation, evaluation_error=error))


def by_id(found):
    return {c.id: c for c in found}


def judge_checks(findings, cal):
    return registry.judge_all(findings, cal)


def test_metrics_at_and_below_the_threshold(tmp_path, large_calibration):
    t = large_calibration.thresholds
    assert not t.informational
    at = by_id(judge_checks(evidence(tmp_path, {"accuracy": t.accuracy, "f1": t.f1 + 0.01, "examples": 408}), large_calibration))
    assert at["accuracy"].status == PASSED and at["f1"].status == PASSED and not at["accuracy"].informational
    below = by_id(judge_checks(evidence(tmp_path, {"accuracy": t.accuracy - 0.0001, "f1": 0.5, "examples": 408}), large_calibration))
    assert below["accuracy"].status == FAILED and below["f1"].status == FAILED


def test_a_collapsed_model_is_named_as_the_majority_baseline(tmp_path, large_calibration):
    base = large_calibration.majority_baseline
    found = by_id(judge_checks(evidence(tmp_path, {"accuracy": base.accuracy, "f1": base.f1, "examples": 408}), large_calibration))
    assert found["accuracy"].status == FAILED
    assert "majority-class baseline" in found["accuracy"].message


def test_unloadable_adapter_fails_the_metric_checks_with_the_reason(tmp_path, large_calibration):
    found = by_id(judge_checks(evidence(tmp_path, error="RuntimeError: size mismatch for classifier"), large_calibration))
    assert found["accuracy"].status == FAILED and "size mismatch" in found["accuracy"].message
    assert found["ia3_trained"].status == NOT_RUN


def test_crash_message_is_the_last_exception_line_not_what_was_printed(tmp_path, large_calibration):
    found = by_id(judge_checks(evidence(tmp_path, exit_code=1), large_calibration))
    assert found["run"].status == FAILED and "RuntimeError: out of memory" in found["run"].message
    assert found["budget"].status == NOT_RUN and "failed after 12.5 s (status 1)" in found["budget"].message


def test_gradescope_results_and_html_report(tmp_path, large_calibration):
    result = judge(
        evidence(tmp_path, {"accuracy": 0.9, "f1": 0.92, "examples": 408, "positive_rate": 0.7}),
        large_calibration,
        profiles.load("roberta-large"),
        20.0,
    )
    scored = score(result, rubric.load())
    gs = gradescope.render(scored)
    assert set(gs) >= {"score", "max_score", "execution_time", "tests", "extra_data"}
    assert gs["max_score"] == sum(t["max_score"] for t in gs["tests"]) and gs["score"] == sum(t["score"] for t in gs["tests"])
    for test in gs["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output"}
        assert test["status"] in ("passed", "failed")
    assert gs["extra_data"]["validation_accuracy"] == 0.9 and gs["extra_data"]["wall_seconds"] == 12.5

    html = report.render(scored)
    text = []

    class Text(HTMLParser):
        def handle_data(self, data):
            text.append(data.strip())

    Text().feed(html)
    visible = " ".join(t for t in text if t)
    assert "Failed" in visible  # no adapter was saved in this evidence
    assert "no adapter saved" in visible and "RuntimeError: out of memory" not in visible.split("Log: the output around the error")[0]
    assert "<script" not in html and "http" not in html.replace("http://www.w3.org", "")


def test_cannot_grade_exits_2_with_the_reason(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(profiles.load("roberta-large").dir_env, raising=False)
    assert cli.main([str(tmp_path), "--profile", "roberta-large", "--out", str(tmp_path / "o")]) == 2
    assert "GRADER_MODEL_DIR_ROBERTA_LARGE" in capsys.readouterr().err
    assert cli.main([str(tmp_path / "missing"), "--profile", "tiny", "--out", str(tmp_path / "o2")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main([str(tmp_path), "--profile", "nope"]) == 2


def test_a_check_that_raises_is_an_error_never_a_pass(tmp_path, large_calibration):
    broken = replace(large_calibration, structure=None)  # every structure-reading check now raises
    found = by_id(judge_checks(evidence(tmp_path, {"accuracy": 0.9, "f1": 0.92, "examples": 408, "positive_rate": 0.7}), broken))
    assert found["adapter_type"].status == ERROR and "could not judge" in found["adapter_type"].message
    assert found["accuracy"].status == PASSED  # the others are judged as before


def test_every_check_is_declared_once_with_a_title_and_a_basis():
    assert list(registry.REGISTRY) == [spec.id for spec in registry.REGISTRY.values()]
    assert all(spec.title and spec.basis for spec in registry.REGISTRY.values())
    with pytest.raises(ValueError, match="declared twice"):
        registry.check("run", "again", registry.RUN_RECORD)(lambda f, c: None)


def test_an_error_of_the_grader_exits_3_and_results_json_says_not_graded(tmp_path, monkeypatch, capsys):
    from grader.evidence import collect

    def broken(*args, **kwargs):
        raise RuntimeError("evaluation process vanished")

    monkeypatch.setattr(collect, "evaluate", broken)  # a fault inside the grader, after the student's run
    student = tmp_path / "student"
    student.mkdir()
    (student / "train.py").write_text("print('a run that ends at once')\n")
    out = tmp_path / "out"
    assert cli.main([str(student), "--profile", "tiny", "--out", str(out)]) == 3
    results = json.loads((out / "results.json").read_text())
    assert results["extra_data"]["gradable"] is False and "RuntimeError: evaluation process vanished" in results["output"]
    assert "error of its own, not of the submission" in results["output"]
    assert "internal error of the grader" in capsys.readouterr().err
