"""The long-lived evaluator: one base model lent to adapter after adapter must give what each
adapter gives alone, survive adapters that do not load, and, once gone, leave grading to a fresh
evaluation that says so. Real tiny RoBERTa, real PEFT IA3 adapters, a real evaluator process."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import pickle
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from grader.evidence import adapter, collect, evaluation
from grader.evidence.evaluator import START_AFTER_SECONDS, TOKEN_ENV, AdapterFailed, Evaluator, EvaluatorGone
from grader.evidence.record import Evidence
from grader.run import devices
from tests.helpers import ROOT, alive, wait_for

TEST_PAIRS = 48  # of the held-out split: enough rows for both classes, quick on the CPU
HEAD = "base_model.model.classifier.modules_to_save.default"


def _save_adapter(tiny_model_dir, folder, seed, own_head=True, shapes_wrong=False):
    """A real IA3 adapter saved by PEFT, its vectors and head drawn from `seed` (so each adapter
    answers differently); optionally one that uses the base model's head (no task type, no
    modules_to_save: a head left behind by an earlier adapter would show), or with a vector of the
    wrong shape."""
    from safetensors.numpy import save_file

    from grader.commands.calibrate import reference_module
    from grader.course.mindnlp_env import load

    _, transformers, peft = load()
    base = transformers.AutoModelForSequenceClassification.from_pretrained(str(tiny_model_dir))
    peft.get_peft_model(base, reference_module().peft_config()).save_pretrained(str(folder))
    tensors = adapter.read(folder).tensors
    rng = np.random.default_rng(seed)
    for name, value in tensors.items():
        if "ia3_l" in name:
            value[...] = rng.uniform(0.2, 3.0, value.shape)
        elif "classifier" in name:
            value[...] = rng.normal(0, 2.0, value.shape)
    if not own_head:
        tensors = {n: v for n, v in tensors.items() if "classifier" not in n}
        config = json.loads((folder / adapter.CONFIG).read_text())
        (folder / adapter.CONFIG).write_text(json.dumps(config | {"task_type": None, "modules_to_save": None}))
    if shapes_wrong:
        name = next(n for n in tensors if "ia3_l" in n)
        tensors[name] = np.ones((7, 3), np.float32)
    save_file({n: np.ascontiguousarray(v, dtype=np.float32) for n, v in tensors.items()}, str(folder / adapter.WEIGHTS))
    return folder


@pytest.fixture(scope="module")
def small_profile(tiny_profile):
    return dataclasses.replace(tiny_profile, test_limit=TEST_PAIRS)


@pytest.fixture(scope="module")
def adapters(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    made = {
        "trained-like": _save_adapter(tiny_model_dir, root / "a", seed=1),
        "other head": _save_adapter(tiny_model_dir, root / "b", seed=2),
        "base head": _save_adapter(tiny_model_dir, root / "c", seed=3, own_head=False),
        "wrong shapes": _save_adapter(tiny_model_dir, root / "d", seed=4, shapes_wrong=True),
    }
    corrupt = root / "e"
    corrupt.mkdir()
    (corrupt / adapter.CONFIG).write_bytes((made["trained-like"] / adapter.CONFIG).read_bytes())
    (corrupt / adapter.WEIGHTS).write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")
    made["corrupt file"] = corrupt
    return made


@pytest.mark.slow
def test_adapters_through_one_evaluator_give_what_each_gives_alone(small_profile, tiny_model_dir, mrpc_dir, adapters, monkeypatch):
    """Heads changed by one student (modules_to_save) and adapters that fail half-way must leave
    nothing behind: every good adapter's logits equal, bit for bit, a fresh load of base + adapter."""
    splits, _ = evaluation.splits_for(mrpc_dir, small_profile.test_limit)
    rows = {"test": splits["test"]}
    order = ["trained-like", "base head", "wrong shapes", "other head", "corrupt file", "base head", "trained-like"]
    with Evaluator.start(small_profile, tiny_model_dir, mrpc_dir, devices.parse("cpu")) as evaluator:
        through, failures = [], {}
        for name in order:
            try:
                answer = evaluator.evaluate(adapters[name], splits=("test",), logits=True, timeout=300)
                through.append((name, np.array(answer.logits["test"], np.float32)))
                assert answer.reloads == 0  # restoring the tree was enough: no tensor of the base ever changed
            except AdapterFailed as exc:
                failures[name] = str(exc)
        with pytest.raises(EvaluatorGone, match="refused: wrong token"):
            Evaluator.connect(evaluator.address, "not the token").evaluate(adapters["trained-like"], splits=("test",), timeout=60)
        monkeypatch.setenv(TOKEN_ENV, evaluator.token)  # a batch worker given `--evaluator SOCKET`
        with Evaluator.connect(evaluator.address) as worker:
            assert worker.evaluate(adapters["other head"], splits=("test",)).measured["test"]["examples"] == TEST_PAIRS
        assert evaluator.evaluate(adapters["other head"], splits=("test",)).measured["test"]["examples"] == TEST_PAIRS
    assert set(failures) == {"wrong shapes", "corrupt file"}, failures
    assert "size mismatch" in failures["wrong shapes"].lower() or "shape" in failures["wrong shapes"].lower()
    alone = {
        name: evaluation.predict_logits(tiny_model_dir, adapters[name], rows, small_profile.max_length, small_profile.seed)["test"]
        for name in {name for name, _ in through}
    }
    for name, logits in through:
        assert logits.dtype == alone[name].dtype and np.array_equal(logits, alone[name]), f"{name} differs from its fresh evaluation"
    # the adapters really answer differently, so a head or vector left behind by one would show in the next
    for first, second in itertools.combinations(sorted(alone), 2):
        assert np.abs(alone[first] - alone[second]).max() > 0.1, (first, second)


@pytest.mark.slow
def test_an_evaluator_started_when_needed_loads_for_a_waiting_worker_or_a_lasting_run_only(
    small_profile, tiny_model_dir, mrpc_dir, adapters, monkeypatch
):
    """A slot's evaluator (or a single grading's own) makes its socket at once and starts the
    process that loads the base model only when an attempt needs it."""
    cpu = devices.parse("cpu")
    unused = Evaluator.start(small_profile, tiny_model_dir, mrpc_dir, cpu, when_needed=True)
    unused.start_when_needed(START_AFTER_SECONDS - 1)  # a short run, and nobody waiting on the socket
    assert unused.pid is None and unused.alive() and unused.address.is_socket()
    unused.close()
    assert not unused.address.parent.exists()

    lasting = Evaluator.start(small_profile, tiny_model_dir, mrpc_dir, cpu, when_needed=True)
    lasting.start_when_needed(START_AFTER_SECONDS)  # a run that lasts: the load overlaps it
    assert lasting.pid is not None and alive(lasting.pid)
    lasting.close()

    slot = Evaluator.start(small_profile, tiny_model_dir, mrpc_dir, cpu, when_needed=True)
    monkeypatch.setenv(TOKEN_ENV, slot.token)
    try:
        with ThreadPoolExecutor(1) as pool:  # a batch's worker with an adapter, after a short run
            waiting = pool.submit(lambda: Evaluator.connect(slot.address).evaluate(adapters["trained-like"], splits=("test",), timeout=300))
            started = wait_for(lambda: slot.start_when_needed(0.0) or slot.pid, 60, "the waiting worker to start the evaluator")
            answer = waiting.result(timeout=300)
        assert answer.pid == started and answer.measured["test"]["examples"] == TEST_PAIRS
    finally:
        slot.close()


@pytest.mark.slow
def test_a_dead_evaluator_leaves_grading_to_a_fresh_evaluation_that_says_so(small_profile, tiny_model_dir, mrpc_dir, adapters, tmp_path):
    evaluator = Evaluator.start(small_profile, tiny_model_dir, mrpc_dir, devices.parse("cpu"))
    before = evaluator.evaluate(adapters["trained-like"], timeout=300)
    os.kill(evaluator.pid, signal.SIGKILL)
    ev = Evidence("sub", "train.py", None, None, collect.OUTPUT_LABEL, adapter_dir=str(adapters["trained-like"]))
    collect.evaluate(ev, small_profile, tiny_model_dir, mrpc_dir, tmp_path, devices.parse("cpu"), ("", ""), evaluator)
    assert ev.evaluated_by.startswith("a fresh evaluation, because the grader's evaluator was gone")
    assert "status -9" in ev.evaluated_by
    assert ev.evaluation == before.measured["validation"] and ev.test_evaluation == before.measured["test"]
    assert ev.evaluation_error is None
    with pytest.raises(EvaluatorGone):
        evaluator.evaluate(adapters["trained-like"])
    assert not evaluator.address.parent.exists()  # its folder (socket, log) is gone with it


def test_an_evaluator_does_not_outlive_the_grader_that_started_it(small_profile, tiny_model_dir, mrpc_dir, tmp_path):
    """The grader killed (no close()): its evaluator exits and removes its folder, socket and log."""
    script = (
        "import os, sys, pickle\n"
        "from grader.evidence.evaluator import Evaluator\n"
        "from grader.run import devices\n"
        "profile, model_dir, mrpc_dir = pickle.loads(bytes.fromhex(sys.argv[1]))\n"
        "evaluator = Evaluator.start(profile, model_dir, mrpc_dir, devices.parse('cpu'))\n"
        "print(evaluator.pid, evaluator.address, flush=True)\n"
        "os._exit(9)\n"
    )
    given = pickle.dumps((small_profile, tiny_model_dir, mrpc_dir)).hex()
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script, given], capture_output=True, text=True, timeout=60, env=env)
    pid, address = done.stdout.split()
    wait_for(lambda: not alive(int(pid)) and not Path(address).parent.exists(), 30, "the evaluator to exit and remove its folder", poll=0.1)
