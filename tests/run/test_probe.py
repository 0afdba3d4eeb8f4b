"""The probe injected into the student's process, against stand-in modules shaped like MindNLP
0.4's `mindnlp.peft` (MindSpore-style parameters with asnumpy(); 0.4 no longer installs), run in
real child processes: direct PeftModel construction, a run that exits, one stopped by SIGTERM,
and one that ignores SIGTERM and dies of SIGKILL."""

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from grader.checks import probe_checks, registry
from grader.checks.judgement import FAILED, NOT_RUN, PASSED
from grader.course import calibration
from grader.evidence import probe_record
from grader.evidence.findings import Findings
from grader.run import environment, runner
from grader.run.inject import SITE_DIR
from grader.run.probe_channel import SOCKET_ENV, ProbeChannel

STAND_IN = """
import numpy as np


class Parameter:
    def __init__(self, shape, value=0.5, requires_grad=False):
        self.data = np.full(shape, value, dtype=np.float32)
        self.requires_grad = requires_grad
        self.shape = self.data.shape
        self.dtype = "Float32"

    def asnumpy(self):
        return self.data


class Output:
    def __init__(self, loss):
        self.loss = loss


class PeftModel:
    def __init__(self, model, peft_config, adapter_name="default"):
        self.peft_config = {adapter_name: peft_config}
        self.training = False
        self.params = {
            "base_model.model.roberta.embeddings.word_embeddings.weight": Parameter((8, 4)),
            "base_model.model.roberta.encoder.layer.0.attention.self.key.weight": Parameter((4, 4)),
            "base_model.model.roberta.encoder.layer.0.attention.self.key.bias": Parameter((4,)),
            "base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l.default": Parameter((4, 1), 1.0, True),
            "base_model.model.classifier.original_module.dense.weight": Parameter((2, 4)),
            "base_model.model.classifier.modules_to_save.default.dense.weight": Parameter((2, 4)),
        }

    def named_parameters(self):
        return iter(self.params.items())

    def train(self):
        self.training = True

    def forward(self, x):
        return Output(float(x))

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def save_pretrained(self, directory):
        import os

        os.makedirs(directory, exist_ok=True)


class PeftModelForSequenceClassification(PeftModel):
    def __init__(self, model, peft_config, adapter_name="default"):
        super().__init__(model, peft_config, adapter_name)
        # as in PEFT: the classifier copy becomes trainable after the base __init__ returns
        self.params["base_model.model.classifier.modules_to_save.default.dense.weight"].requires_grad = True


class IA3Config:
    def __init__(self, **kwargs):
        self.peft_type, self.task_type = "IA3", "SEQ_CLS"
        self.target_modules = kwargs.get("target_modules", ["key"])

    def to_dict(self):
        return dict(vars(self))
"""

STUDENT = """
import sys
assert "peft" not in sys.modules and "torch" not in sys.modules and "mindnlp" not in sys.modules
import mindnlp.peft as peft

model = peft.PeftModelForSequenceClassification(object(), peft.IA3Config(target_modules=["key"]))
model.train()
for step in range(3):
    model([0.7, 0.6, 0.5][step])
    model.params["base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l.default"].data += 0.01
    if MOVE_BASE:
        model.params["base_model.model.roberta.encoder.layer.0.attention.self.key.bias"].data += 0.01
model.save_pretrained("adapter")
{ending}
"""

REFERENCE = {
    "trainable_tensors": {
        "base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l.default": [4, 1],
        "base_model.model.classifier.modules_to_save.default.dense.weight": [2, 4],
    }
}


def judged(check_id, record):
    """A probe check on this record, against a reference whose trainable tensors are REFERENCE's."""
    tiny = calibration.load_for("tiny")
    reference = replace(tiny, structure=replace(tiny.structure, trainable_tensors=REFERENCE["trainable_tensors"]))
    return registry.REGISTRY[check_id].run(Findings(evidence=None, record=record), reference)


def run_student(tmp_path, ending="", move_base=False, budget=60):
    (tmp_path / "mindnlp" / "peft").mkdir(parents=True)
    (tmp_path / "mindnlp" / "__init__.py").write_text("")
    (tmp_path / "mindnlp" / "peft" / "__init__.py").write_text(STAND_IN)
    script = tmp_path / "train.py"
    script.write_text(f"MOVE_BASE = {move_base}\n" + STUDENT.format(ending=textwrap.dedent(ending)))
    env = environment.student_env(tmp_path / "private", {}, "CPU", 0, ("probe",))
    env["PYTHONPATH"] = f"{SITE_DIR}:{tmp_path}"
    env["GRADER_PROBE_INTERVAL"] = "0"  # a periodic snapshot before every training step
    with ProbeChannel(tmp_path / "probe.sock", tmp_path / "probe") as channel:
        env[SOCKET_ENV] = str(channel.path)
        run = runner.run_script(script, tmp_path, env, budget, tmp_path / "logs")
    return run, probe_record.load(tmp_path / "probe")


def test_direct_construction_through_mindnlp_peft_is_recorded_to_the_end(tmp_path):
    run, record = run_student(tmp_path)
    assert run.exit_code == 0, (tmp_path / "logs" / "stderr.txt").read_text()
    assert record.attached == ["mindnlp.peft"] and record.end == "exit" and not record.problems
    (model,) = record.models
    assert model.cls.endswith("PeftModelForSequenceClassification")
    assert model.config["default"]["target_modules"] == ["key"]
    # recorded after the subclass's __init__, so the classifier copy is already trainable
    assert set(model.trainable_ever()) == set(REFERENCE["trainable_tensors"])
    # the first training pass takes the baseline the change is measured from; periodic snapshots follow
    assert [s.reason for s in model.snapshots] == ["created", "train_start", "periodic", "periodic", "save", "exit"]
    assert model.losses == [0.7, 0.6, 0.5] and model.train_forwards == 3
    assert model.saves[0].directory.endswith("adapter")
    ia3 = "base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l.default"
    assert model.created.params[ia3].fingerprint != model.last.params[ia3].fingerprint
    moved = model.saves[0].moved[ia3]  # three steps of +0.01 since the start of training, on all 4 elements
    assert moved.elements == 4 and abs(moved.largest - 0.03) < 1e-6 and model.baseline_of(model.saves[0]).reason == "train_start"
    assert judged("frozen_base", record).status == PASSED
    assert judged("trainable_set", record).status == PASSED


def test_a_moved_bias_fails_frozen_base_with_its_name(tmp_path):
    _, record = run_student(tmp_path, move_base=True)
    check = judged("frozen_base", record)
    assert check.status == FAILED
    assert check.message.startswith("1 base tensors changed although they stayed frozen")
    assert ": roberta.encoder.layer.0.attention.self.key.bias (" in check.message
    assert check.measured["base_tensors"] == 4  # ia3 vector and classifier copy are not base weights


@pytest.mark.slow  # waits out a budget
def test_sigterm_at_the_budget_records_a_last_snapshot_and_still_ends_the_run(tmp_path):
    run, record = run_student(tmp_path, "import time\ntime.sleep(600)\n", move_base=True, budget=15)  # time to start and save under load
    assert run.timed_out
    assert record.end == "terminated"
    assert record.models[0].last.reason == "terminated"
    assert "stopped" in probe_checks._ending(record, record.models[0])
    assert judged("frozen_base", record).status == FAILED


@pytest.mark.slow  # waits out a budget
def test_a_run_killed_without_a_last_word_is_judged_on_what_was_written(tmp_path):
    ending = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(600)\n"
    run, record = run_student(tmp_path, ending, move_base=True, budget=15)
    assert run.timed_out and record.end is None
    assert record.models[0].last.reason == "save"  # the last record before SIGKILL
    check = judged("frozen_base", record)
    assert check.status == FAILED and "key.bias" in check.message


def test_no_record_and_no_model_are_reported_not_guessed(tmp_path):
    assert judged("frozen_base", None).status == NOT_RUN
    (tmp_path / "probe-1.jsonl").write_text(json.dumps({"event": "start", "pid": 1, "seq": 1, "t": 0}) + '\n{"event": "crea')
    record = probe_record.load(tmp_path)
    check = judged("trainable_set", record)
    assert check.status == NOT_RUN and "no PEFT model was built" in check.message
    assert record.problems and "incomplete" in record.problems[0]


def test_without_the_variable_the_probe_does_nothing(tmp_path):
    env = environment.student_env(tmp_path / "private", {}, "CPU", 0, ("probe",))
    script = tmp_path / "train.py"
    script.write_text("import signal; print(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)")
    run = runner.run_script(script, tmp_path, env, 30, tmp_path / "logs")
    assert run.exit_code == 0 and Path(run.stdout_path).read_text().strip() == "True"


FORGER = """
import json, os, socket
forged = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
forged.connect(os.environ["GRADER_PROBE_SOCKET"])
lines = [{"event": "created", "model": 1, "class": "peft.PeftModel", "config": {}, "parameters": []},
         {"event": "snapshot", "model": 1, "reason": "exit", "train_forwards": 99, "parameters": []}]
for seq, event in enumerate(lines, 1):  # posing as the probe of the main process
    forged.sendall((json.dumps({"pid": 1, "seq": seq, "t": 0, **event}) + "\\n").encode())
forged.close()
"""


def test_a_record_forged_over_the_channel_is_left_out_and_distrusts_the_rest(tmp_path):
    run, record = run_student(tmp_path, FORGER)
    assert run.exit_code == 0, (tmp_path / "logs" / "stderr.txt").read_text()
    assert any("claims pid 1, but was sent by pid" in line for line in record.inconsistencies), record.inconsistencies
    assert len(record.models) == 1  # the real model only
    check = judged("frozen_base", record)
    assert check.status == NOT_RUN and "the probe's record is inconsistent" in check.message


def test_lines_missing_from_the_sequence_are_inconsistent(tmp_path):
    events = [{"event": "start"}, {"event": "attached", "package": "peft"}, {"event": "end", "reason": "exit"}]
    lines = [json.dumps({"pid": 5, "seq": seq, "t": seq, **e}) for seq, e in zip((1, 2, 4), events, strict=True)]
    (tmp_path / "probe-5.jsonl").write_text("\n".join(lines) + "\n")
    record = probe_record.load(tmp_path)
    assert record.inconsistencies == ["probe-5.jsonl line 3 has sequence number 4 where 3 was due: lines are missing or repeated"]
