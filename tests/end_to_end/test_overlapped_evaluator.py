"""A single `grade` starts its evaluator beside a student's run that lasts, and measures through
it: the same metrics as a fresh evaluation of the kept adapter, no MindSpore in the grader's
process, and no evaluator process or folder left afterwards. A run that ends early without an
adapter starts none."""

import json
import os
from pathlib import Path

import pytest

from grader.evidence import evaluation
from grader.evidence.record import Evidence
from grader.outputs.files import EVIDENCE_DIR
from tests.helpers import grade_in_a_child


def test_single_grading_measures_through_its_overlapped_evaluator(graded, tiny_profile, tiny_model_dir, mrpc_dir):
    out = graded["good"]  # graded by a `grade` of its own that did not import MindSpore (conftest.py)
    assert graded.codes["good"] == 0
    ev = Evidence.load(out / EVIDENCE_DIR)
    assert ev.evaluated_by.startswith("the grader's evaluator (process "), ev.evaluated_by
    pid = int(ev.evaluated_by.split("process ")[1].split(",")[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # closed with the grading
    splits, test_error = evaluation.splits_for(mrpc_dir, tiny_profile.test_limit)
    fresh = evaluation.evaluate_splits(tiny_model_dir, Path(ev.adapter_dir), splits, tiny_profile.max_length, tiny_profile.seed)
    assert test_error is None and ev.test_evaluation_error is None
    assert ev.evaluation == fresh["validation"] and ev.test_evaluation == fresh["test"]
    results = json.loads((out / "results.json").read_text())
    assert results["extra_data"]["validation_accuracy"] == fresh["validation"]["accuracy"]


def test_a_run_that_ends_early_without_an_adapter_starts_no_evaluator(tmp_path, tiny_model_dir):
    folder = tmp_path / "quick"
    folder.mkdir()
    (folder / "train.py").write_text("print('no training here')\n")
    out = tmp_path / "out"
    done = grade_in_a_child(folder, out)
    assert done.returncode == 1, done.stderr[-3000:]
    assert (out / EVIDENCE_DIR / "logs" / "stdout.txt").read_text() == "no training here\n"
    assert not (out / EVIDENCE_DIR / "logs" / "evaluator.log").exists(), "an evaluator was started for a run with nothing to evaluate"
    assert Evidence.load(out / EVIDENCE_DIR).evaluated_by is None
