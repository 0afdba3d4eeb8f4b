"""Submissions that try to pass without training, graded on the tiny profile through the `grade`
command: every one of these earned full marks before the grader tied its verdicts to the run."""

import html
import shutil
import tempfile
from pathlib import Path

import pytest

from grader.checks.judgement import FAILED, NOT_RUN
from tests import helpers
from tests.helpers import SUBMISSIONS

HOSTILE = SUBMISSIONS / "hostile"


def committed(tmp_path, graded, name, copy_it=False):
    """The committed-adapter script beside a really trained adapter (the good example's)."""
    folder = tmp_path / name
    shutil.copytree(HOSTILE / "committed-adapter", folder)
    shutil.copytree(graded["good"] / "evidence" / "adapter", folder / "ia3-mrpc")
    if copy_it:
        (folder / "copy-it").write_text("")
    return folder


@pytest.mark.parametrize("copy_it", [False, True], ids=["left-in-place", "copied-to-the-output"])
def test_an_adapter_handed_in_is_never_this_runs_training(tmp_path, graded, copy_it):
    done = helpers.grade(committed(tmp_path, graded, "repo", copy_it), tmp_path / "out")
    assert done.code == 1
    message = done.messages["adapter_type"]
    assert done.statuses["adapter_type"] == FAILED and "no adapter written by this run" in message
    assert "identical to ia3-mrpc/adapter_model.safetensors as handed in" in message
    assert done.statuses["ia3_trained"] == NOT_RUN and done.statuses["accuracy"] == NOT_RUN
    # a run that failed in a second proves nothing about the budget or what it trained
    assert done.statuses["budget"] == NOT_RUN and "ending early is not finishing in time" in done.messages["budget"]
    assert done.statuses["trainable_set"] == NOT_RUN and done.statuses["frozen_base"] == NOT_RUN
    assert "the run exited with status 1" in done.report and "ended normally" not in done.report
    assert "test split with every label -1, as GLUE publishes it" in done.report


def test_earlier_results_inside_the_submission_are_not_copied_into_the_run(tmp_path, graded):
    folder = tmp_path / "repo"
    shutil.copytree(HOSTILE / "committed-adapter", folder)
    shutil.copytree(graded["good"], folder / "grade-results" / "good")  # `grade .` run earlier in the folder
    shutil.copytree(graded["good"], folder / "my-old-grading")  # renamed: known by the files the grader writes
    done = helpers.grade(folder, tmp_path / "out")
    assert sorted(done.evidence["not_copied"]) == ["grade-results", "my-old-grading"]
    assert done.statuses["adapter_type"] == FAILED and "no adapter saved" in done.messages["adapter_type"]
    assert "grader's own earlier output: not copied into the run" in html.unescape(done.report)


def test_a_classmates_adapter_in_another_grading_cannot_be_taken(tmp_path, graded):
    """Another student's grading keeps a trained adapter in its private folder under /tmp; the
    run is told exactly where, and finds nothing there: that folder is not in its root."""
    other = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        shutil.copytree(graded["good"] / "evidence" / "adapter", other / "work" / "ia3-mrpc")
        folder = tmp_path / "repo"
        shutil.copytree(HOSTILE / "steal-classmate-adapter", folder)
        (folder / "classmate.txt").write_text(str(other / "work" / "ia3-mrpc"))
        done = helpers.grade(folder, tmp_path / "out")
    finally:
        shutil.rmtree(other)
    assert done.code == 1
    assert done.statuses["adapter_type"] == FAILED and "no adapter saved" in done.messages["adapter_type"]
    assert done.statuses["accuracy"] == NOT_RUN and done.results["score"] < 20


@pytest.mark.slow
def test_vectors_nudged_without_training_are_not_trained(tmp_path):
    done = helpers.grade(HOSTILE / "nudged-vectors", tmp_path / "out")
    assert done.code == 1
    message = done.messages["ia3_trained"]
    assert done.statuses["ia3_trained"] == FAILED and "equals 1.0001" in message and "rescaling, not training" in message
    assert done.statuses["adapter_type"] == done.statuses["trainable_parameters"] == "passed"


@pytest.mark.slow
def test_non_finite_vectors_fail(tmp_path):
    done = helpers.grade(HOSTILE / "nan-vectors", tmp_path / "out")
    assert done.statuses["ia3_trained"] == FAILED and "are NaN or infinite" in done.messages["ia3_trained"]


@pytest.mark.slow
def test_a_lora_adapter_relabelled_as_ia3_is_judged_by_its_tensors(tmp_path):
    done = helpers.grade(HOSTILE / "lora-as-ia3", tmp_path / "out")
    message = done.messages["adapter_type"]
    assert done.statuses["adapter_type"] == FAILED and "says IA3 / SEQ_CLS in its config but holds" in message and "lora_A" in message
    assert done.statuses["ia3_trained"] == FAILED and done.statuses["trainable_parameters"] == FAILED
