import json
from dataclasses import asdict

import pytest

from grader.commands import calibrate
from grader.course import calibration, profiles
from grader.course.calibration import Metrics
from grader.evidence import adapter as adapter_io


@pytest.mark.e2e_rare  # builds RoBERTa-large
def test_roberta_large_counts_come_from_building_its_config(monkeypatch):
    large = profiles.load("roberta-large")
    monkeypatch.delenv(large.dir_env, raising=False)
    built = calibrate.structure(large)
    assert built.trainable_parameters == 1_223_682
    assert built.all_parameters == 356_585_476
    assert built.ia3_vector_parameters == 24 * (1024 + 1024 + 1024 + 4096)
    assert built.target_modules == ["key", "output.dense", "value"]
    assert built.feedforward_modules == ["output.dense"]
    assert built.adapter_tensors["base_model.model.roberta.encoder.layer.23.output.dense.ia3_l"] == [1, 4096]
    committed = json.loads(calibration.path_for("roberta-large").read_text())
    assert committed["structure"] == asdict(built)


def test_committed_thresholds_follow_the_profile_rule():
    for name in ("tiny", "roberta-large"):
        stored = calibration.load_for(name)
        derived = calibrate.thresholds(profiles.load(name), stored.reference_run.metrics, stored.majority_baseline)
        assert stored.thresholds == derived


def test_the_stored_record_round_trips_unchanged():
    for name in ("tiny", "roberta-large"):
        assert calibration.load_for(name).to_dict() == json.loads(calibration.path_for(name).read_text())


def test_threshold_rule_marks_a_reference_that_cannot_beat_the_majority_as_informational():
    tiny = profiles.load("tiny")
    baseline = Metrics(accuracy=0.6838, f1=0.8122)
    weak = calibrate.thresholds(tiny, Metrics(accuracy=0.69, f1=0.81), baseline)
    strong = calibrate.thresholds(tiny, Metrics(accuracy=0.87, f1=0.90), baseline)
    assert weak.informational and not strong.informational
    assert strong.accuracy == pytest.approx(0.87 - tiny.tolerance["accuracy"])
    assert strong.f1 == pytest.approx(0.90 - tiny.tolerance["f1"])


@pytest.mark.e2e_rare  # trains the reference
def test_tiny_calibration_trains_the_reference_and_matches_the_committed_truth(tiny_profile, mrpc_dir, tmp_path):
    fresh = calibrate.calibrate(tiny_profile, mrpc_dir, train=True, work_dir=tmp_path)
    committed = calibration.load_for("tiny")
    assert fresh.structure == committed.structure
    assert fresh.structure.trainable_parameters == 4_930
    assert fresh.reference_run.source == "measured by grade calibrate"
    assert fresh.majority_baseline.accuracy == pytest.approx(279 / 408)
    # the reference's run is seeded: the grader measures the same metrics every time
    assert fresh.reference_run.metrics == committed.reference_run.metrics
    assert fresh.thresholds == committed.thresholds
    # what a leaked reference adapter is recognised by: its tensors' digest, as kept with the evidence
    assert fresh.reference_run.adapter_tensors_sha256 == adapter_io.read(tmp_path / "adapter").tensors_digest
