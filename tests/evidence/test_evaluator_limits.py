"""An adapter config that makes PEFT run for ever (a target_modules regex that backtracks) must
cost one student a clear failure, not the slot: configs are checked before PEFT sees them, each
evaluation has its own deadline, and the evaluator stuck past it is killed so the slot's next
student is evaluated by a fresh one in normal time. Real tiny RoBERTa, real PEFT adapters, real
evaluator processes."""

from __future__ import annotations

import dataclasses
import json
import re
import time

import pytest

from grader.evidence import adapter, adapter_limits, collect
from grader.evidence.evaluator import Evaluator
from grader.evidence.record import Evidence
from grader.run import devices
from tests.evidence.test_evaluator import TEST_PAIRS, _save_adapter

BACKTRACKS = r"(.+)+X"  # full-matched against "roberta.embeddings.word_embeddings": 2^34 ways to fail
FLOOR, FACTOR = 20.0, 3.0  # one evaluation's least time and multiple of the base's, for this test (default: 60 s, 10x)


def test_configs_peft_must_not_read_are_refused_with_their_reason():
    assert adapter_limits.problem({"target_modules": ["key", "value"], "feedforward_modules": ["output.dense"]}) is None
    assert adapter_limits.problem({"target_modules": r".*\.(key|value)"}) is None
    assert "must be a list of module names or one string" in adapter_limits.problem({"target_modules": {"key": 1}})
    assert "must be a list of module names or one string" in adapter_limits.problem({"target_modules": ["key", 3]})
    assert "at most 256 are accepted" in adapter_limits.problem({"feedforward_modules": ["x"] * 257})
    assert "a name of 5,000 characters" in adapter_limits.problem({"target_modules": "a" * 5000})
    assert "not a valid regular expression" in adapter_limits.problem({"exclude_modules": "(unclosed"})
    assert adapter_limits.regex_fields({"target_modules": BACKTRACKS, "feedforward_modules": ["x"]}) == [f"target_modules {BACKTRACKS!r}"]


@pytest.fixture(scope="module")
def small_profile(tiny_profile):
    return dataclasses.replace(tiny_profile, test_limit=TEST_PAIRS)


@pytest.mark.slow
def test_a_backtracking_regex_fails_its_student_and_the_next_is_evaluated_by_a_fresh_evaluator(
    small_profile, tiny_model_dir, mrpc_dir, tmp_path
):
    honest = _save_adapter(tiny_model_dir, tmp_path / "honest", seed=1)
    hostile = _save_adapter(tiny_model_dir, tmp_path / "hostile", seed=2)
    config = json.loads((hostile / adapter.CONFIG).read_text())
    (hostile / adapter.CONFIG).write_text(json.dumps(config | {"target_modules": BACKTRACKS}))
    slot = Evaluator.start(small_profile, tiny_model_dir, mrpc_dir, devices.parse("cpu"), floor_seconds=FLOOR, factor=FACTOR)
    try:
        first = slot.evaluate(honest, timeout=300)  # the base is loaded and the deadline measured
        # a batch worker holds only the socket and the token, as `grade --evaluator SOCKET` does;
        # the grading's view of the hostile adapter: the student's failure, the pattern named
        worker = Evaluator.connect(slot.address, slot.token)
        ev = Evidence("sub", "train.py", None, None, collect.OUTPUT_LABEL, adapter_dir=str(hostile))
        started = time.monotonic()
        collect._evaluate(ev, hostile, small_profile, tiny_model_dir, mrpc_dir, devices.parse("cpu"), worker)
        took_hostile = time.monotonic() - started
        assert ev.evaluation is None and ev.evaluation_error.startswith("the adapter's config made evaluation exceed "), ev
        assert f"target_modules {BACKTRACKS!r} is a regular expression PEFT matches" in ev.evaluation_error
        assert ev.evaluated_by == "the grader's evaluator, stopped at its deadline and replaced for the next student"
        deadline = float(re.search(r"exceed (\d+) s", ev.evaluation_error).group(1))
        assert FLOOR <= deadline <= small_profile.budget_seconds
        assert took_hostile < deadline + 30, f"the worker waited {took_hostile:.0f} s for a {deadline:.0f} s deadline"
        assert not slot.alive(), "the stuck evaluator was not killed"
        # as the batch's slot does before its next student: a dead evaluator is replaced
        slot.close()
        slot = Evaluator.start(small_profile, tiny_model_dir, mrpc_dir, devices.parse("cpu"), floor_seconds=FLOOR, factor=FACTOR)
        again = slot.evaluate(honest, timeout=300)
        assert again.measured == first.measured and again.pid == slot.pid != first.pid  # the replacement measured it
    finally:
        slot.close()
