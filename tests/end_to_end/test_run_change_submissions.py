"""Verdicts about what this run did, graded end to end through the real `grade` command with real
MindNLP training on tiny: an adapter trained elsewhere and stepped once here, a base fine-tuned
before IA3 was attached, and an adapter saved before a working value_and_grad loop."""

import shutil

import pytest

from grader.checks.judgement import FAILED, PASSED
from tests import helpers
from tests.helpers import SUBMISSIONS

HOSTILE = SUBMISSIONS / "hostile"


@pytest.mark.slow
def test_an_adapter_loaded_from_elsewhere_and_stepped_once_is_not_this_runs_training(tmp_path, graded):
    folder = tmp_path / "repo"
    shutil.copytree(HOSTILE / "loaded-then-one-step", folder)
    shutil.copytree(graded["good"] / "evidence" / "adapter", folder / "classmate-adapter")
    done = helpers.grade(folder, tmp_path / "out")
    assert done.code == 1 and done.statuses["ia3_trained"] == FAILED
    message = done.messages["ia3_trained"]
    assert "training started from weights this run did not write: PeftModel.load_adapter" in message
    assert "classmate-adapter/adapter_model.safetensors (sha256 " in message and message.count("adapter_model.safetensors") == 1
    assert "since the start of training" in message
    measured = done.tests["ia3_trained"]["extra_data"]
    changed = float(message.split("changed the IA3 vectors by at most ")[1].split(" ")[0])
    assert 0 < changed < 1e-5  # the one step at lr 1e-6, not the distance from 1.0 the classmate's training made
    assert "not written by this run" in done.report and measured["grader_status"] == FAILED
    assert done.statuses["frozen_base"] == PASSED and "identical to the course model's own" in done.messages["frozen_base"]


@pytest.mark.slow
def test_a_base_fine_tuned_before_ia3_was_attached_fails_frozen_base(tmp_path):
    done = helpers.grade(HOSTILE / "base-finetuned-first", tmp_path / "out")
    assert done.code == 1 and done.statuses["frozen_base"] == FAILED
    message = done.messages["frozen_base"]
    assert "base tensors already differed from the course model's own when the PEFT model was built" in message
    assert "roberta.embeddings.word_embeddings.weight" in message
    assert done.statuses["ia3_trained"] == PASSED  # the IA3 training itself was real


@pytest.mark.slow
def test_saved_before_a_working_loop_is_told_so_not_blamed_on_loss_backward(tmp_path):
    done = helpers.grade(HOSTILE / "saved-before-training", tmp_path / "out")
    assert done.code == 1 and done.statuses["ia3_trained"] == FAILED
    message = done.messages["ia3_trained"]
    assert "before any training step" in message and "Save after training" in message
    assert "loss.backward" not in message
