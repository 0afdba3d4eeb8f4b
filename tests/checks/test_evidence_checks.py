"""Evidence checks judged on stored evidence: collapse whatever the thresholds, the validation/test
gap, claims parsed from messy logs, MindNLP 0.4 checkpoint names, hidden checks kept out of the
student's report."""

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from grader.checks import metric_checks, registry
from grader.checks.judge import judge
from grader.checks.judgement import FAILED, HIDDEN, PASSED
from grader.course import calibration, profiles
from grader.evidence import adapter, claims
from grader.evidence.findings import Findings
from grader.evidence.record import Evidence
from grader.outputs import report
from grader.run.runner import RunRecord
from grader.scoring import rubric
from grader.scoring.score import score


def run_check(check_id, findings, cal=None):
    return registry.REGISTRY[check_id].run(findings, cal or calibration.load_for("roberta-large"))


def evidence(tmp_path, evaluation=None, test=None, stdout=""):
    (tmp_path / "stdout.txt").write_text(stdout)
    (tmp_path / "stderr.txt").write_text("")
    run = RunRecord(["python", "train.py"], 0, 10.0, False, 60, str(tmp_path / "stdout.txt"), str(tmp_path / "stderr.txt"))
    return Findings.load(Evidence("sub", "train.py", None, run, "$GRADER_OUTPUT_DIR", evaluation=evaluation, test_evaluation=test))


def metrics(accuracy, f1, positive_rate, examples):
    return {"accuracy": accuracy, "f1": f1, "positive_rate": positive_rate, "examples": examples}


def test_collapse_fails_even_where_the_thresholds_would_pass(tmp_path, large_calibration):
    low = replace(large_calibration, thresholds=replace(large_calibration.thresholds, accuracy=0.5, f1=0.5))  # below the majority baseline
    base = low.majority_baseline
    found = {
        c.id: c
        for c in judge(evidence(tmp_path, metrics(base.accuracy, base.f1, 1.0, 408)), low, profiles.load("roberta-large"), 1.0).checks
    }
    assert found["accuracy"].status == PASSED and found["f1"].status == PASSED
    assert found["collapse"].status == FAILED and not found["collapse"].informational
    assert "predicts class 1 (equivalent) for all 408 validation pairs: accuracy 0.6838 / F1 0.8122" in found["collapse"].message
    healthy = run_check("collapse", evidence(tmp_path, metrics(0.85, 0.89, 0.7, 408)))
    assert healthy.status == PASSED and "70.0% of 408" in healthy.message


def test_a_validation_test_gap_beyond_chance_is_flagged_and_hidden(tmp_path):
    close = run_check("test_metrics", evidence(tmp_path, metrics(0.875, 0.91, 0.7, 408), metrics(0.86, 0.90, 0.7, 1725)))
    assert close.status == PASSED and close.visibility == HIDDEN and close.informational
    wide = run_check("test_metrics", evidence(tmp_path, metrics(0.90, 0.93, 0.7, 408), metrics(0.80, 0.85, 0.7, 1725)))
    assert wide.status == FAILED and "gap +0.1000 is beyond chance" in wide.message
    assert "validation accuracy 0.9000 / F1 0.9300 (408 pairs); test accuracy 0.8000 / F1 0.8500 (1725 pairs)" in wide.message
    assert 0.05 < metric_checks.gap_limit(0.85, 408, 1725) < 0.07


def test_claims_are_read_from_tqdm_ansi_and_dict_prints():
    log = (
        "\x1b[32mEpoch 11\x1b[0m:  40%|####      | 4/10\rEpoch 11: 100%|##########| 10/10\n"
        "train accuracy 0.99\n"
        "epoch 11: {'accuracy': 0.875, 'f1': 0.91005}\n"
        "{'eval_loss': 0.31, 'eval_accuracy': 0.8652, 'eval_f1': 0.9013, 'epoch': 12.0}\n"
        "Accuracy: 86.5%  (353 of 408)\n"
    )
    found = claims.parse(log)
    assert [c.metric for c in found] == ["accuracy", "f1", "accuracy", "f1", "accuracy"]
    last = claims.final(found)
    assert last["accuracy"].value == pytest.approx(0.865) and last["f1"].value == pytest.approx(0.9013)


def test_claimed_metrics_within_tolerance_pass_and_beyond_fail(tmp_path):
    measured = metrics(0.86, 0.90, 0.7, 408)
    agree = run_check("claimed_metrics", evidence(tmp_path, measured, stdout="epoch 3: {'accuracy': 0.87, 'f1': 0.905}"))
    assert agree.status == PASSED and agree.visibility == HIDDEN and agree.informational
    differ = run_check("claimed_metrics", evidence(tmp_path, measured, stdout="final accuracy: 0.93"))
    assert differ.status == FAILED and "accuracy claimed 0.9300" in differ.message and "measured 0.8600" in differ.message


def test_mindnlp_04_checkpoint_names_map_onto_peft_names(tmp_path):
    assert (
        adapter.peft_name("base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l.default")
        == "base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l"
    )
    assert (
        adapter.peft_name("base_model.model.classifier.modules_to_save.default.dense.weight") == "base_model.model.classifier.dense.weight"
    )
    assert (
        adapter.peft_name("roberta.encoder.layer.0.output.LayerNorm.gamma")
        == "base_model.model.roberta.encoder.layer.0.output.LayerNorm.weight"
    )
    (tmp_path / adapter.CONFIG).write_text(json.dumps({"peft_type": "IA3", "task_type": "SEQ_CLS"}))
    # written by a plain MindSpore process: after `import mindnlp` save_checkpoint writes dtype
    # names that load_checkpoint rejects, and other tests in this session import MindNLP
    write = (
        "import sys, numpy, mindspore\n"
        "mindspore.save_checkpoint([{'name': 'base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l.default',"
        " 'data': mindspore.Tensor(numpy.ones((4, 1), numpy.float32))}], sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", write, str(tmp_path / adapter.CKPT_WEIGHTS)], check=True, capture_output=True, timeout=120)
    read = adapter.read(tmp_path)
    assert read.problem is None and read.format == adapter.CKPT_FORMAT
    assert read.shapes() == {"base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l": [4, 1]}
    (tmp_path / adapter.CKPT_WEIGHTS).write_bytes(b"not a checkpoint")
    assert "not a readable MindSpore checkpoint" in adapter.read(tmp_path).problem


def test_hidden_checks_stay_out_of_the_students_report(tmp_path, large_calibration):
    ev = evidence(tmp_path, metrics(0.90, 0.93, 0.7, 408), metrics(0.7771, 0.85, 0.7, 1725), stdout="accuracy 0.9911")
    result = judge(ev, large_calibration, profiles.load("roberta-large"), 1.0)
    assert {c.id for c in result.checks if c.visibility == HIDDEN} == {
        "test_metrics",
        "reference_copy",
        "claimed_metrics",
        "validation_not_trained",
    }
    assert result.measurements["test_accuracy"] == 0.7771 and result.measurements["claimed_accuracy"] == 0.9911
    scored = score(result, rubric.load())
    student, instructor = report.render(scored, "student"), report.render(scored, "instructor")
    assert "0.7771" not in student and "Held-out" not in student
    assert "accuracy claimed" not in student  # the comparison; the student's own print may appear in the log excerpt
    assert "0.7771" in instructor and "accuracy claimed 0.9911" in instructor
    assert "What the grade rests on" in student


def test_claims_are_read_from_huge_lines_without_backtracking():
    assert claims.parse("accuracy" + " " * 80_000 + "x") == []  # two adjacent \\s* once made this take minutes
    found = claims.parse("accuracy" + " " * 3_000 + ": 0.9")
    assert [(c.metric, c.value) for c in found] == [("accuracy", 0.9)]
