"""Grade every example submission on the tiny profile with real MindSpore training, through the
`grade` command, and assert which check fails and why."""

import pytest

from grader.checks.judgement import FAILED, NOT_RUN, PASSED
from tests import helpers
from tests.helpers import SUBMISSIONS


def grade(name, tmp_path, *extra):
    done = helpers.grade(SUBMISSIONS / name, tmp_path / name, *extra)
    return done.code, done.results, done.statuses, done.messages


def test_good_submission_passes_every_check(graded):
    """Graded (once, in conftest.py) as the README's demo does it: --out relative to the current directory."""
    done = helpers.Graded(graded.codes["good"], graded["good"])
    code, results, statuses = done.code, done.results, done.statuses
    assert code == 0
    required = {t["tags"][0] for t in results["tests"] if "informational" not in t["tags"]}
    assert {statuses[c] for c in required} == {PASSED}
    assert statuses["frozen_base"] == statuses["trainable_set"] == PASSED
    assert results["extra_data"]["trainable_parameters"] == 4_930
    assert 0.0 <= results["extra_data"]["validation_accuracy"] <= 1.0
    assert (graded["good"] / "report.html").read_text().count("passed") >= 8


@pytest.mark.slow
def test_loss_backward_loop_is_caught_as_untrained(tmp_path):
    code, _, statuses, messages = grade("no-training", tmp_path)
    assert code == 1
    assert statuses["ia3_trained"] == FAILED
    assert "still exactly 1.0" in messages["ia3_trained"] and "loss.backward()" in messages["ia3_trained"]
    assert statuses["adapter_type"] == statuses["ia3_modules"] == statuses["trainable_parameters"] == PASSED


@pytest.mark.slow
def test_lora_is_not_ia3(tmp_path):
    code, _, statuses, messages = grade("lora", tmp_path)
    assert code == 1
    assert statuses["adapter_type"] == FAILED and "LORA / SEQ_CLS, not IA3 / SEQ_CLS" in messages["adapter_type"]
    assert statuses["ia3_trained"] == FAILED and "no IA3 vectors" in messages["ia3_trained"]
    assert "lora_A" in messages["trainable_parameters"]


@pytest.mark.slow
def test_wrong_targets_name_the_modules_and_the_difference(tmp_path):
    code, results, statuses, messages = grade("wrong-targets", tmp_path)
    assert code == 1
    assert statuses["ia3_modules"] == FAILED
    assert "got ['query', 'value']" in messages["ia3_modules"] and "got []" in messages["ia3_modules"]
    assert statuses["trainable_parameters"] == FAILED
    assert "-384" in messages["trainable_parameters"] and "query.ia3_l" in messages["trainable_parameters"]
    assert results["extra_data"]["trainable_parameters"] == 4_546


def test_crash_reports_the_exception_and_no_adapter(graded):
    done = helpers.Graded(graded.codes["crash"], graded["crash"])
    code, statuses, messages = done.code, done.statuses, done.messages
    assert code == 1
    assert statuses["run"] == FAILED and "ValueError: labels must be integers" in messages["run"]
    assert statuses["adapter_type"] == FAILED and "no adapter saved" in messages["adapter_type"]
    assert statuses["trainable_parameters"] == statuses["ia3_trained"] == NOT_RUN
    assert statuses["frozen_base"] == NOT_RUN  # built, then crashed before any training


@pytest.mark.slow
def test_over_budget_is_stopped_and_what_it_saved_is_still_judged(tmp_path):
    code, results, statuses, messages = grade("over-budget", tmp_path, "--budget", "45")  # time to train a little when loaded
    assert code == 1
    assert statuses["budget"] == FAILED and statuses["run"] == FAILED
    assert results["extra_data"]["timed_out"] is True
    assert 45 <= results["extra_data"]["wall_seconds"] < 45 + 30
    assert statuses["ia3_trained"] == PASSED and statuses["trainable_parameters"] == PASSED
    # the probe's snapshots survive the stop: the run is still judged on what it trained
    assert statuses["frozen_base"] == statuses["trainable_set"] == PASSED


@pytest.mark.slow
def test_trainer_with_its_defaults_passes_on_the_cpu_and_the_report_says_what_was_supplied(tmp_path):
    """torch AdamW and gradient clipping work on the NPUs; on the CPU the grader supplies them."""
    code, results, statuses, _ = grade("trainer-defaults", tmp_path)
    assert code == 0
    assert statuses["run"] == statuses["ia3_trained"] == statuses["frozen_base"] == PASSED
    report = (tmp_path / "trainer-defaults" / "report.html").read_text()
    assert "CPU compatibility" in report and "addcdiv" in report and "clip_grad_norm_" in report
