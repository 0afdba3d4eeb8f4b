"""`ia3_trained` ties the saved adapter to training observed in the run: records written the way
the probe writes them (CRC-32 of each tensor's bytes), adapters as the grader reads them."""

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from grader.checks import registry
from grader.checks.judgement import FAILED, NOT_RUN, PASSED
from grader.course import calibration
from grader.evidence import probe_record
from grader.evidence.adapter import Adapter
from grader.evidence.findings import Findings

IA3 = "base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l"
HEAD = "base_model.model.classifier.dense.weight"
ONES = np.ones((4, 1), np.float32)
TRAINED = np.array([[1.01], [0.98], [1.002], [0.999]], np.float32)
HEAD_W = np.full((2, 4), 0.25, np.float32)


def crc(array) -> str:
    return f"{zlib.crc32(memoryview(np.ascontiguousarray(array)).cast('B')):08x}"


def rows(ia3, head=HEAD_W):
    """Parameters as the probe records them (names with the adapter name, as PEFT holds them)."""
    return [
        [IA3 + ".default", [4, 1], "float32", True, crc(ia3)],
        ["base_model.model.classifier.modules_to_save.default.dense.weight", [2, 4], "float32", True, crc(head)],
        ["base_model.model.roberta.embeddings.word_embeddings.weight", [8, 4], "float32", False, "0000abcd"],
    ]


def moved(before, after):
    """The probe's "moved" rows: the IA3 vector's largest |change| and how many elements changed."""
    changed = int(np.count_nonzero(after != before))
    return [[IA3 + ".default", float(np.max(np.abs(after.astype(np.float64) - before))), changed]] if changed else []


def record(tmp_path: Path, saved_ia3, train_forwards=3, losses=(0.7, 0.6, 0.5)):
    events = [
        {"event": "start", "pid": 7, "t": 0},
        {
            "event": "created",
            "pid": 7,
            "model": 1,
            "class": "peft.PeftModelForSequenceClassification",
            "config": {},
            "t": 1,
            "parameters": rows(ONES),
        },
        *({"event": "loss", "pid": 7, "model": 1, "loss": loss} for loss in losses),
        {
            "event": "snapshot",
            "pid": 7,
            "model": 1,
            "reason": "save",
            "t": 5,
            "train_forwards": train_forwards,
            "parameters": rows(saved_ia3),
            "moved": moved(ONES, saved_ia3),
        },
        {"event": "end", "pid": 7, "reason": "exit"},
    ]
    (tmp_path / "probe-7.jsonl").write_text("".join(json.dumps(e | {"seq": seq, "t": seq}) + "\n" for seq, e in enumerate(events, 1)))
    return probe_record.load(tmp_path)


def judge(adapter_ia3, probe):
    adapter = Adapter(Path("."), {"peft_type": "IA3", "task_type": "SEQ_CLS"}, {IA3: adapter_ia3, HEAD: HEAD_W})
    return registry.REGISTRY["ia3_trained"].run(Findings(evidence=None, adapter=adapter, record=probe), calibration.load_for("tiny"))


def test_an_adapter_saved_from_a_model_seen_training_passes(tmp_path):
    found = judge(TRAINED, record(tmp_path, TRAINED))
    assert found.status == PASSED and "changed by training in this run, by at most 0.02 since the model was built" in found.message


@pytest.mark.parametrize(
    "adapter, saved, forwards, why",
    [
        (TRAINED, TRAINED, 0, "in training mode was observed: the model never trained"),
        (TRAINED * 1.5, TRAINED, 3, "equals the trainable tensors of no model observed in this run"),
        (ONES * 1.0001, ONES * 1.0001, 3, "one factor on everything is a rescaling, not training"),
        (np.array([[1.1], [np.nan], [1.0], [1.0]], np.float32), TRAINED, 3, "1 of 4 IA3 values are NaN or infinite"),
        (ONES, ONES, 3, "still exactly 1.0"),
    ],
    ids=["never-trained", "not-from-this-run", "uniform-factor", "nan", "untouched"],
)
def test_what_is_not_training_fails_with_its_reason(tmp_path, adapter, saved, forwards, why):
    found = judge(adapter, record(tmp_path, saved, forwards))
    assert found.status == FAILED and why in found.message, found.message


def test_without_the_probes_record_the_adapter_cannot_be_tied_to_training(tmp_path):
    found = judge(TRAINED, None)
    assert found.status == FAILED and "observed no PEFT model in this run" in found.message
    assert registry.REGISTRY["ia3_trained"].run(Findings(evidence=None), calibration.load_for("tiny")).status == NOT_RUN
