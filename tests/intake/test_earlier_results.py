"""A submission folder that holds the grader's earlier results is graded as if they were not
there: they are never copied into the run, so their kept adapter is never taken for the student's."""

import shutil

import pytest

from grader.intake import workspace
from tests import helpers


def test_result_folders_are_left_out_of_the_private_copy(tmp_path):
    sub = tmp_path / "sub"
    for folder in ("grade-results/sub/evidence/adapter", "out1/evidence/adapter", "ia3_out"):
        (sub / folder).mkdir(parents=True)
        (sub / folder / "adapter_config.json").write_text("{}")
    (sub / "out1" / "scored.json").write_text("{}")
    (sub / "train.py").write_text("print('hi')\n")
    ws = workspace.prepare(sub, tmp_path / "work")
    assert ws.entry.name == "train.py"
    assert sorted(p.name for p in ws.root.iterdir()) == ["ia3_out", "train.py"]  # the student's own folder stays


@pytest.mark.slow
def test_an_earlier_good_result_inside_a_crashing_submission_is_not_graded(graded, tmp_path):
    sub = shutil.copytree(helpers.SUBMISSIONS / "crash", tmp_path / "crash")
    shutil.copytree(graded["good"], sub / "grade-results" / "crash")  # holds evidence/adapter of a passing run
    shutil.copytree(graded["good"], sub / "my-old-run")
    done = helpers.grade(sub, tmp_path / "out")
    assert done.code == 1
    assert done.statuses["run"] == "failed" and done.statuses["adapter_type"] == "failed"
    assert "grade-results" not in done.messages["adapter_type"] and "my-old-run" not in done.messages["adapter_type"]
