"""`grade check --static` on hub names the code computes: a name bound to one string (`task =
"mrpc"`) is resolved as the run's offline hooks will see it, so notebooks that grade 75/75 are
not reported as unserved; a value the reading cannot tell is a warning, never a problem."""

from __future__ import annotations

import json

import pytest

from grader import cli
from tests.helpers import SUBMISSIONS, grade

HEAD = "import mindnlp\nimport evaluate\nfrom datasets import load_dataset\n"
# the rest of a submission the static pass finds nothing wrong with, so the exit status is the names'
IA3 = (
    "import os\nfrom peft import IA3Config, get_peft_model\nfrom transformers import AutoModelForSequenceClassification\n"
    "model = get_peft_model(AutoModelForSequenceClassification.from_pretrained(os.environ['GRADER_MODEL_DIR']), "
    "IA3Config(task_type='SEQ_CLS'))\nmodel.save_pretrained(os.environ['GRADER_OUTPUT_DIR'])\n"
)


def notebook(folder, *cells):
    folder.mkdir(exist_ok=True)
    code = [{"cell_type": "code", "source": c, "metadata": {}, "outputs": [], "execution_count": None} for c in (*cells, IA3)]
    (folder / "hw.ipynb").write_text(json.dumps({"cells": code, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}))
    return folder


def check(folder, capsys) -> tuple[int, dict[str, str]]:
    """The exit status and each `offline names` line, keyed by what it names (mark first)."""
    code = cli.main(["check", str(folder), "--static"])
    lines = [line for line in capsys.readouterr().out.splitlines() if " offline names: " in line]
    return code, {line.split(" offline names: ")[1].split(" (")[0]: line[0] for line in lines}


def test_the_task_variable_submission_is_served_offline_and_exits_0(capsys):
    code, names = check(SUBMISSIONS / "explain-task-variable", capsys)
    assert names == {"model 'roberta-large'": "✓", "dataset 'glue/mrpc'": "✓", "metric 'glue/mrpc'": "✓"}
    assert code == 0


def test_a_constant_is_followed_across_cells_and_keywords(tmp_path, capsys):
    folder = notebook(
        tmp_path / "nb",
        HEAD,
        'TASK: str = "MRPC"\nbenchmark, split = "glue", "validation"',
        "data = load_dataset(path=benchmark, name=TASK)\nmetric = evaluate.load(benchmark, config_name=TASK)\n"
        'acc = evaluate.load("accuracy", TASK)',  # the hook falls back to the path alone, as here
    )
    code, names = check(folder, capsys)
    assert names == {"dataset 'glue/MRPC'": "✓", "metric 'glue/MRPC'": "✓", "metric 'accuracy/MRPC'": "✓"}
    assert code == 0


def test_a_folder_the_code_saves_to_and_reloads_is_local_not_a_hub_name(tmp_path, capsys):
    folder = notebook(
        tmp_path / "nb",
        HEAD + "from peft import PeftModel\nfrom transformers import AutoModelForSequenceClassification\n",
        'out = "ia3-mrpc-final"\nbase = AutoModelForSequenceClassification.from_pretrained("roberta-large")',
        "model.save_pretrained(out)\nagain = PeftModel.from_pretrained(base, out)\n"
        "merged = AutoModelForSequenceClassification.from_pretrained(out)",
        'other = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")',
    )
    code, names = check(folder, capsys)
    assert names == {"model 'roberta-large'": "✓", "model 'bert-base-uncased'": "✗"} and code == 1


def test_a_constant_naming_another_task_is_a_problem(tmp_path, capsys):
    folder = notebook(tmp_path / "nb", HEAD, 'task = "sst2"', 'data = load_dataset("glue", task)')
    code, names = check(folder, capsys)
    assert names == {"dataset 'glue/sst2'": "✗"} and code == 1


@pytest.mark.parametrize(
    "code_text",
    [
        'task = "mrpc"\ndef load(task):\n    return load_dataset("glue", task)\n',  # a parameter shadows it
        'task = "mrpc"\ntask = "sst2"\ndata = load_dataset("glue", task)\n',  # two values
        'import sys\ntask = sys.argv[1]\ndata = load_dataset("glue", task)\n',  # computed
        'for task in ["mrpc", "rte"]:\n    data = load_dataset("glue", task)\n',  # a loop variable
        'task = "mrpc"\nfrom config import task\ndata = load_dataset("glue", task)\n',  # rebound by an import
        'args = ("glue", "mrpc")\ndata = load_dataset(*args)\n',  # starred
    ],
)
def test_what_the_reading_cannot_tell_is_a_warning_not_a_problem(tmp_path, capsys, code_text):
    (tmp_path / "train.py").write_text(HEAD + code_text + IA3)
    code, names = check(tmp_path, capsys)
    assert list(names.values()) == ["!"] and next(iter(names)).startswith("dataset load_dataset(")
    assert code == 0


def test_the_message_for_an_unknown_name_says_what_is_served(tmp_path, capsys):
    (tmp_path / "train.py").write_text(HEAD + "import os\nmetric = evaluate.load(os.environ['METRIC'])\n")
    cli.main(["check", str(tmp_path), "--static"])
    out = capsys.readouterr().out
    assert "metric evaluate.load(os.environ['METRIC']) (train.py, line 5) is named by a value the code computes at run time" in out
    assert "the grader serves accuracy, evaluate-metric/accuracy" in out


@pytest.mark.slow
def test_the_task_variable_notebook_grades_full_marks(tmp_path):
    """The notebook the static pass used to reject: the hooks serve load_dataset("glue", task) and
    evaluate.load("glue", task), and the cell ending in `model;` does not display the model."""
    graded = grade(SUBMISSIONS / "explain-task-variable", tmp_path / "out")
    stderr = (graded.logs / "stderr.txt").read_text()
    assert graded.code == 0, stderr[-3000:]
    assert graded.results["score"] == graded.results["max_score"] > 0
    assert "offline: load_dataset('glue/mrpc') served from local files" in stderr
    assert "offline: evaluate.load('glue/mrpc') served by a local accuracy+f1 metric" in stderr
