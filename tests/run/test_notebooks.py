"""Notebook submissions executed in a fresh kernel inside the sandbox."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.checks.judgement import FAILED, NOT_RUN, PASSED
from tests import helpers
from tests.helpers import SUBMISSIONS


def grade(source, tmp_path, *extra):
    done = helpers.grade(source, tmp_path / "out", *extra)
    return done.code, done.statuses, done.messages, done.evidence, done.logs


def write(path, *sources):
    cells = [new_markdown_cell("# homework")] + [new_code_cell(s) for s in sources]
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": {"name": "mindspore", "display_name": "MindSpore"}}), path)
    return path


@pytest.mark.slow
def test_unmodified_hub_notebook_trains_offline_and_passes(tmp_path):
    """from_pretrained("roberta-large"), load_dataset("glue", "mrpc") and evaluate.load("glue",
    "mrpc") as written for the internet, run offline on the tiny profile's model and data."""
    code, statuses, _, evidence, logs = grade(SUBMISSIONS / "notebook", tmp_path)
    stdout, stderr = (logs / "stdout.txt").read_text(), (logs / "stderr.txt").read_text()
    assert code == 0, stderr[-3000:]
    # every check passes but `collapse` (the tiny model always ends at the majority class, informational here)
    # and `reference_copy`, not run: tiny's committed calibration records no reference adapter
    assert statuses.pop("reference_copy") == NOT_RUN
    assert {k: v for k, v in statuses.items() if k != "collapse"} == dict.fromkeys(statuses.keys() - {"collapse"}, PASSED)
    assert evidence["source"]["kind"] == "folder" and evidence["entry"] == "ia3_mrpc.ipynb"
    assert evidence["adapter_found_at"] == "submission folder/roberta-large-ia3-mrpc"
    assert evidence["notebook"]["status"] == "completed" and evidence["notebook"]["original_kernel"] == "mindspore"
    assert "offline: load_dataset('glue/mrpc') served from local files (train, validation, test)" in stderr
    assert "offline: evaluate.load('glue/mrpc') served by a local accuracy+f1 metric" in stderr
    assert "num_rows: 128" in stdout  # the tiny profile's training copy, served under the hub name
    assert "trainable params: 4,930" in stdout
    assert (logs / "executed.ipynb").is_file()
    assert evidence["run"]["isolation"]["network"].startswith("network namespace")


@pytest.mark.slow
def test_a_modelarts_notebook_writing_to_home_ma_user_work_runs_unchanged(tmp_path):
    """Written on ModelArts: chdir to /home/ma-user/work, logs under /home/ma-user, the adapter
    saved by absolute path in /home/ma-user/work. In the sandbox those are the run's private copy
    and home, so it trains and its adapter is found there."""
    code, statuses, _, evidence, logs = grade(SUBMISSIONS / "modelarts-notebook", tmp_path)
    stdout = (logs / "stdout.txt").read_text()
    assert code == 0, (logs / "stderr.txt").read_text()[-3000:]
    assert "/home/ma-user/work /home/ma-user" in stdout
    assert evidence["notebook"]["status"] == "completed"
    assert evidence["adapter_found_at"] == "submission folder/roberta-large-ia3-mrpc"
    assert statuses["adapter_type"] == statuses["ia3_trained"] == PASSED


@pytest.mark.slow
def test_notebook_cell_that_never_returns_is_stopped_at_the_budget_with_its_kernel(tmp_path):
    nb = write(
        tmp_path / "homework.ipynb",
        "import os\nopen('kernel.pid', 'w').write(str(os.getpid()))\nprint('kernel', os.getpid())",
        "import time\nwhile True:\n    time.sleep(1)",
        "print('never here')",
    )
    code, statuses, messages, evidence, logs = grade(nb, tmp_path, "--budget", "40")  # the kernel starts well within it on a loaded machine
    assert code == 1 and evidence["run"]["timed_out"]
    assert statuses["run"] == FAILED and statuses["budget"] == FAILED
    assert "cell In [2] (`import time`) never returned: it was still running when the time budget ran out" in messages["run"]
    assert "kernel " in (logs / "stdout.txt").read_text()  # the kernel had started
    assert helpers.run_survivors(evidence["run"]["isolation"]) == [] and "host uid" in evidence["run"]["isolation"]["run_user"]
    assert evidence["run"]["ended_processes"] >= 1  # the kernel runs in a session of its own


def test_failing_cell_is_reported_by_number_and_source_line(tmp_path):
    nb = write(
        tmp_path / "homework.ipynb",
        "x = 1",
        "values = [1, 2]\ntotal = sum(values)\nprint(values[total])\nprint('after')",
        "print('not run')",
    )
    code, statuses, messages, evidence, logs = grade(nb, tmp_path)
    assert code == 1 and statuses["run"] == FAILED
    # numbered as the notebook shows it (In [2]: the second code cell), not counting the markdown cell
    assert "cell In [2], line 3 (`print(values[total])`) raised IndexError: list index out of range" in messages["run"]
    assert evidence["notebook"]["failed"]["cell"] == 2 and [c["cell"] for c in evidence["notebook"]["cells"]] == [1, 2]
    assert "not run" not in (logs / "stdout.txt").read_text()


def test_error_while_displaying_the_last_expression_is_named_as_that(tmp_path):
    """A value whose repr fails (a PEFT model under MindNLP 0.5.1) fails in IPython's display, after
    the cell's code ran: no line of the cell is to blame, and a `;` (no display) runs clean."""
    nb = write(
        tmp_path / "homework.ipynb",
        "x = 1",
        "from collections import UserList\nbroken = UserList.__new__(UserList)  # its repr reads a missing attribute\nbroken;",
        "print('shown next')\nbroken",
    )
    code, statuses, messages, evidence, _ = grade(nb, tmp_path)
    assert code == 1 and statuses["run"] == FAILED
    assert (
        "cell In [3] raised AttributeError: 'UserList' object has no attribute 'data' while displaying its last expression (`broken`)"
        in messages["run"]
    )
    assert evidence["notebook"]["failed"]["during"] == "display"
