"""Submissions that cheat or slip in ways only the run's evidence shows, each graded on the tiny
profile with real MindSpore training through the `grade` command."""

import pytest

from grader.checks.judgement import FAILED, NOT_RUN, PASSED
from tests import helpers
from tests.helpers import SUBMISSIONS


def grade(name, out):
    done = helpers.grade(SUBMISSIONS / name, out)
    return done.code, done.results, done.statuses, done.tests, done.report


@pytest.mark.slow
def test_unfrozen_last_layer_is_named_though_the_adapter_looks_right(tmp_path):
    code, _, statuses, tests, report = grade("unfreeze-last-layer", tmp_path / "o")
    assert code == 1
    assert statuses["trainable_parameters"] == PASSED  # save_pretrained wrote only the IA3 tensors
    assert statuses["frozen_base"] == FAILED
    message = tests["frozen_base"]["output"]
    assert "16 base tensors were made trainable after the PEFT model was built and changed" in message
    assert "roberta.encoder.layer.1.attention.self.query.weight" in message
    assert all(name.startswith("roberta.encoder.layer.1.") for name in tests["frozen_base"]["extra_data"]["measured"]["changed"])
    assert statuses["trainable_set"] == FAILED
    assert "trained 28 tensors (38,402 parameters); 16 not in the reference" in tests["trainable_set"]["output"]
    assert "observed in the run" in report and "16 base tensors" in report


@pytest.mark.slow
def test_trained_biases_are_named(tmp_path):
    code, _, statuses, tests, _ = grade("train-biases", tmp_path / "o")
    assert code == 1
    changed = tests["frozen_base"]["extra_data"]["measured"]["changed"]
    assert statuses["frozen_base"] == FAILED and changed and all(name.endswith(".bias") for name in changed)
    assert "roberta.embeddings.LayerNorm.bias" in changed
    extra = tests["trainable_set"]["extra_data"]["measured"]["extra"]
    assert statuses["trainable_set"] == FAILED and len(extra) == 19 and all(name.endswith(".bias") for name in extra)


@pytest.mark.slow
def test_full_model_saved_instead_of_the_adapter_is_explained(tmp_path):
    code, _, statuses, tests, _ = grade("full-model", tmp_path / "o")
    assert code == 1
    message = tests["adapter_type"]["output"]
    assert statuses["adapter_type"] == FAILED
    assert "a full model checkpoint: $GRADER_OUTPUT_DIR/model.safetensors (207,746 parameters in 41 tensors)" in message
    assert "merge_and_unload()" in message
    # training itself was right, and merging afterwards is not mistaken for unfrozen weights
    assert statuses["frozen_base"] == PASSED and "merge_and_unload" in tests["frozen_base"]["output"]
    assert statuses["trainable_set"] == PASSED


@pytest.mark.slow
def test_made_up_accuracy_is_flagged_for_the_instructor_only(tmp_path):
    """That grading again gives the same verdicts and measurements is asserted on `good` graded alone
    and in a batch (tests/commands/test_batch.py, the hostile student's test)."""
    code, results, statuses, tests, report = grade("made-up-accuracy", tmp_path / "first")
    assert code == 1
    assert statuses["ia3_trained"] == FAILED
    claimed = tests["claimed_metrics"]
    assert statuses["claimed_metrics"] == FAILED and claimed["visibility"] == "hidden" and claimed["max_score"] == 0
    assert "accuracy claimed 0.8825" in claimed["output"] and "measured 0.6838" in claimed["output"]
    assert "epoch 11: {'accuracy': 0.8825, 'f1': 0.91755}" in claimed["output"]  # the last of the tqdm-interleaved prints
    assert tests["test_metrics"]["visibility"] == "hidden"
    # nothing changed, so "stayed frozen" would be vacuous: not judged rather than credited
    assert statuses["frozen_base"] == NOT_RUN and "no parameter changed" in tests["frozen_base"]["output"]
    assert statuses["trainable_set"] == NOT_RUN and "no training whose trainable set" in tests["trainable_set"]["output"]
    assert "0 forward passes in training mode" in report
    # nothing hidden reaches the student's report: no comparison with the claim, no test-split numbers
    test_measured = tests["test_metrics"]["extra_data"]["measured"]["test"]
    assert "accuracy claimed" not in report and "test accuracy" not in report and f"{test_measured['accuracy']:.4f}" not in report
    assert set(results["extra_data"]) & {"test_accuracy", "test_f1"} == set()
    environment = results["extra_data"]["environment"]
    assert environment["versions"]["mindspore"] == "2.7.0" and environment["device"] == "CPU" and environment["seed"] == 42


@pytest.mark.slow
def test_collapse_to_the_majority_class_is_called_out(tmp_path):
    _, _, statuses, tests, _ = grade("majority-collapse", tmp_path / "o")
    assert statuses["collapse"] == FAILED
    assert "predicts class 1 (equivalent) for all 408 validation pairs: accuracy 0.6838 / F1 0.8122" in tests["collapse"]["output"]
    # this profile's reference collapses as well, so here it is reported without counting
    assert "informational" in tests["collapse"]["tags"]
    assert statuses["ia3_trained"] == PASSED and statuses["frozen_base"] == PASSED


@pytest.mark.slow
def test_mindnlp_04_checkpoint_adapter_is_read_and_evaluated(tmp_path):
    code, results, statuses, tests, report = grade("mindnlp04-ckpt", tmp_path / "o")
    assert results["extra_data"]["adapter_format"] == "MindSpore checkpoint (MindNLP 0.4)"
    assert statuses["trainable_parameters"] == PASSED and "4,930" in tests["trainable_parameters"]["output"]
    assert statuses["ia3_trained"] == PASSED
    assert statuses["accuracy"] == PASSED and results["extra_data"]["validation_accuracy"] > 0
    assert statuses["test_metrics"] in (PASSED, FAILED)  # evaluated, whatever the gap
    assert statuses["claimed_metrics"] == NOT_RUN
    assert "bit-identical to the trainable tensors of the model observed at the end of the run" in report
    assert code == 0
