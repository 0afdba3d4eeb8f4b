"""Training on validation data, seen through the probe's fingerprints of the rows of each
training-mode pass against the grader's own tokenization of the splits: flagged to the
instructor (hidden, 0 points) with its source; a solution that trains on train alone is not."""

import json

from grader.checks.judgement import FAILED, PASSED
from tests.helpers import SUBMISSIONS, Graded, grade


def test_training_on_train_plus_validation_is_flagged_to_the_instructor_and_good_is_not(tmp_path, graded):
    hostile = grade(SUBMISSIONS / "hostile" / "train-on-validation", tmp_path / "hostile", "--budget", "900")  # margin on a loaded machine
    rows = hostile.evidence["training_rows"]
    # tiny gives the run 128 training pairs; one epoch over them and MRPC's 408 validation pairs
    assert rows["validation_pairs"] == rows["validation_total"] == 408, rows
    assert (rows["train_rows"], rows["validation_rows"], rows["neither"]) == (128, 408, 0)
    assert hostile.statuses["validation_not_trained"] == FAILED
    flag = hostile.tests["validation_not_trained"]
    assert flag["visibility"] == "hidden" and flag["max_score"] == 0
    assert "408 of the 408 validation pairs" in flag["output"] and "Source: the probe's fingerprints" in flag["output"]
    assert hostile.statuses["ia3_trained"] == PASSED  # nothing else tells
    assert "validation_not_trained" not in json.dumps(hostile.results["tests"])  # not in what the student sees
    assert "408 of the 408 validation pairs" in (hostile.out / "report-instructor.html").read_text()
    assert "408 of the 408 validation pairs" not in hostile.report
    scored = json.loads((hostile.out / "scored.json").read_text())
    assert any(c["check"] == "validation_not_trained" and c["status"] == FAILED for c in scored["criteria"])

    good = Graded(graded.codes["good"], graded["good"])  # graded once for the session (conftest.py)
    assert good.statuses["validation_not_trained"] == PASSED, good.messages["validation_not_trained"]
    assert good.evidence["training_rows"]["validation_pairs"] == 0
    assert good.evidence["training_rows"]["train_rows"] == good.evidence["training_rows"]["rows_observed"] == 2 * 128
