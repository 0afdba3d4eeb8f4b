"""What this run changed: `ia3_trained` credits the change the probe measured from its last
baseline (start of training, a load, creation), names loads of files this run did not write, and
derives its reason from the record; `frozen_base` compares the base at the PEFT model's creation
with the course model's own tensors, fingerprinted from the real tiny model files."""

import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest

from grader.checks import provenance, registry
from grader.checks.judgement import FAILED, PASSED
from grader.course import calibration, course_fingerprints
from grader.evidence import probe_record
from grader.evidence.adapter import Adapter
from grader.evidence.findings import Findings
from grader.evidence.record import Evidence

IA3 = "base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l"
HEAD = "base_model.model.classifier.dense.weight"
BASE = "base_model.model.roberta.embeddings.word_embeddings.weight"
ONES = np.ones((4, 1), np.float32)
LOADED = np.array([[1.03], [0.97], [1.01], [0.99]], np.float32)
HEAD_W = np.full((2, 4), 0.25, np.float32)
SHA_A, SHA_B = "a" * 64, "b" * 64


def crc(array) -> str:
    return f"{zlib.crc32(memoryview(np.ascontiguousarray(array)).cast('B')):08x}"


def rows(ia3, trainable=True, base="0000abcd"):
    return [
        [IA3 + ".default", [4, 1], "float32", trainable, crc(ia3)],
        ["base_model.model.classifier.modules_to_save.default.dense.weight", [2, 4], "float32", True, crc(HEAD_W)],
        [BASE, [8, 4], "float32", False, base],
    ]


def moved(before, after):
    changed = int(np.count_nonzero(after != before))
    return [[IA3 + ".default", float(np.max(np.abs(after.astype(np.float64) - before))), changed]] if changed else []


def snapshot(reason, ia3, before, forwards, base="0000abcd", trainable=True, **extra):
    """A snapshot as the probe writes it: `ia3` now, and its change from `before` (the baseline)."""
    found = {"event": "snapshot", "model": 1, "reason": reason, "train_forwards": forwards, "parameters": rows(ia3, trainable, base)}
    return found | {"moved": moved(before, ia3), **extra}


def load(tmp_path: Path, events: list[dict], trainable=True, base="0000abcd"):
    """The probe's record of one process: start, the model built (IA3 vectors at 1.0), `events`, end."""
    lines = [{"event": "start", "unix_time": 1000.0}, {"event": "created", "model": 1, "class": "peft.PeftModel", "config": {}}]
    lines[1]["parameters"] = rows(ONES, trainable, base)
    lines += events + [{"event": "end", "reason": "exit"}]
    text = "".join(json.dumps(e | {"pid": 7, "seq": seq, "t": seq}) + "\n" for seq, e in enumerate(lines, 1))
    (tmp_path / "probe-7.jsonl").write_text(text)
    return probe_record.load(tmp_path)


def ia3_trained(saved_ia3, record, course=None):
    adapter = Adapter(Path("."), {"peft_type": "IA3", "task_type": "SEQ_CLS"}, {IA3: saved_ia3, HEAD: HEAD_W})
    evidence = Evidence("s", None, None, None, "o", course_base=course)
    return registry.REGISTRY["ia3_trained"].run(Findings(evidence, adapter, record), calibration.load_for("tiny"))


ONE_STEP = LOADED + np.float32(1e-6)


def test_a_loaded_adapter_one_step_on_is_credited_with_that_step_and_named(tmp_path):
    record = load(
        tmp_path,
        [
            snapshot(
                "load", LOADED, ONES, 0, via="PeftModel.load_adapter", files=[["/home/x/classmate/adapter_model.safetensors", SHA_A, 99]]
            ),
            snapshot("train_start", LOADED, LOADED, 0),
            snapshot("save", ONE_STEP, LOADED, 1),
        ],
    )
    found = ia3_trained(ONE_STEP, record)
    assert found.status == FAILED
    assert "training started from weights this run did not write: PeftModel.load_adapter" in found.message
    assert "/home/x/classmate/adapter_model.safetensors (sha256 aaaaaaaaaaaa, 99 bytes)" in found.message
    step = float(np.max(np.abs(ONE_STEP.astype(np.float64) - LOADED)))
    assert f"changed the IA3 vectors by at most {step:.3g} since the start of training" in found.message
    assert found.measured["changed_in_this_run"] < 2e-6 < 0.02 < found.measured["distance_from_one"]


def test_reloading_what_this_run_saved_is_not_a_foreign_start(tmp_path):
    trained = LOADED
    record = load(
        tmp_path,
        [
            snapshot("train_start", ONES, ONES, 0),
            snapshot("save", trained, ONES, 5),
            {"event": "saved", "model": 1, "directory": "/o", "files": [["/o/adapter_model.safetensors", SHA_A, 99]]},
            snapshot("load", trained, trained, 5, via="PeftModel.load_adapter", files=[["/o/adapter_model.safetensors", SHA_A, 99]]),
            snapshot("save", trained + np.float32(0.01), trained, 9),
        ],
    )
    assert provenance.loads(record) == []  # the reload put back what the model already held
    found = ia3_trained(trained, record)
    assert found.status == PASSED and "since the start of training over 5 training passes" in found.message


def test_a_load_of_another_file_after_this_runs_save_is_still_foreign(tmp_path):
    record = load(
        tmp_path,
        [
            snapshot("train_start", ONES, ONES, 0),
            snapshot("periodic", ONES + np.float32(0.001), ONES, 2),
            {"event": "saved", "model": 1, "directory": "/o", "files": [["/o/adapter_model.safetensors", SHA_A, 99]]},
            snapshot("load", LOADED, ONES + np.float32(0.001), 2, via="set_peft_model_state_dict", files=[["/c/a.safetensors", SHA_B, 99]]),
            snapshot("save", ONE_STEP, LOADED, 3),
        ],
    )
    found = ia3_trained(ONE_STEP, record)
    assert found.status == FAILED and "set_peft_model_state_dict" in found.message and "/c/a.safetensors" in found.message


@pytest.mark.parametrize(
    "saved, events, trainable, why",
    [
        (ONES, [snapshot("save", ONES, ONES, 0), snapshot("train_start", ONES, ONES, 0), snapshot("exit", LOADED, ONES, 4)], True, "saved"),
        (
            ONES,
            [snapshot("train_start", ONES, ONES, 0, trainable=False), snapshot("save", ONES, ONES, 4, trainable=False)],
            False,
            "never trainable",
        ),
        (ONE_STEP, [snapshot("train_start", LOADED, ONES, 0), snapshot("save", ONE_STEP, LOADED, 1)], True, "before its first"),
        (ONES, [snapshot("train_start", ONES, ONES, 0), snapshot("save", ONES, ONES, 4)], True, "no optimizer step changed"),
    ],
    ids=["saved-before-training", "inference-mode", "set-by-hand-before-training", "no-optimizer-step"],
)
def test_the_reason_comes_from_the_record(tmp_path, saved, events, trainable, why):
    found = ia3_trained(saved, load(tmp_path, events, trainable))
    assert found.status == FAILED and why in found.message, found.message
    assert ("loss.backward" in found.message) == (why == "no optimizer step changed")


# --- the course model's own tensors ---


def independent_read(path: Path) -> dict[str, np.ndarray]:
    """The safetensors layout read here by hand: 8-byte header length, JSON header, data."""
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    return {
        n: np.frombuffer(body[e["data_offsets"][0] : e["data_offsets"][1]], np.float32).reshape(e["shape"])
        for n, e in header.items()
        if n != "__metadata__"
    }


def peft_name(name: str) -> str:
    """A file's tensor as IA3 wraps it: target linears keep their weights under base_layer."""
    for target in ("attention.self.key.", "attention.self.value.", "attention.output.dense.", "output.dense."):
        if target in name and not name.startswith("classifier"):
            name = name.replace(target, target + "base_layer.")
            break
    return "base_model.model." + name


def test_course_fingerprints_of_the_real_tiny_model_match_under_pefts_names(tiny_model_dir):
    course = course_fingerprints.compute(tiny_model_dir)
    arrays = independent_read(tiny_model_dir / "model.safetensors")
    assert course.problem is None and len(course.tensors) == len(arrays) > 30
    for name, array in arrays.items():
        assert course.fingerprint(peft_name(name), array.shape, "mindspore.float32") == crc(array), name
        assert course.fingerprint(peft_name(name), array.shape, "torch.float16") == crc(array.astype(np.float16))
    name, array = next((n, a) for n, a in arrays.items() if n.startswith("classifier"))
    assert (
        course.fingerprint("base_model.model." + name.replace("classifier.", "classifier.modules_to_save.default."), array.shape, "float32")
        is None
    )
    assert course.fingerprint(peft_name(name), (1, 2, 3), "float32") is None  # another shape is another tensor


def test_a_changed_copy_of_the_model_has_other_fingerprints_and_its_own_cache(tiny_model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    first = course_fingerprints.load(copy)
    arrays = independent_read(copy / "model.safetensors")
    from safetensors.numpy import save_file

    name = next(n for n in arrays if n.endswith("attention.self.key.weight"))
    changed = {n: a.copy() for n, a in arrays.items()}
    changed[name][0, 0] += np.float32(1e-3)
    save_file(changed, str(copy / "model.safetensors"))
    second = course_fingerprints.load(copy)
    differ = [n for n in first.tensors if first.tensors[n] != second.tensors[n]]
    assert differ == [course_fingerprints.course_name(name)]
    assert course_fingerprints.load(copy).tensors == second.tensors  # from the cache, same answer
    assert "no *.safetensors" in course_fingerprints.load(tmp_path).problem


def frozen_base(tmp_path, base_fingerprint, course):
    events = [snapshot("train_start", ONES, ONES, 0, base_fingerprint), snapshot("save", LOADED, ONES, 4, base_fingerprint)]
    evidence = Evidence("s", None, None, None, "o", course_base=course.to_dict())
    record = load(tmp_path, events, base=base_fingerprint)
    return registry.REGISTRY["frozen_base"].run(Findings(evidence, None, record), calibration.load_for("tiny"))


def test_frozen_base_fails_when_the_base_differed_from_the_course_model_at_creation(tmp_path):
    name = "embeddings.word_embeddings.weight"
    course = course_fingerprints.CourseModel("/m", {name: {"float32": "0000abcd"}}, {name: [8, 4]})
    (tmp_path / "same").mkdir()
    same = frozen_base(tmp_path / "same", "0000abcd", course)
    assert same.status == PASSED and "1 of them identical to the course model's own when it was built" in same.message
    (tmp_path / "other").mkdir()
    other = frozen_base(tmp_path / "other", "ffff0000", course)
    assert other.status == FAILED
    assert "1 of 1 base tensors already differed from the course model's own when the PEFT model was built" in other.message
    assert "word_embeddings" in other.message
