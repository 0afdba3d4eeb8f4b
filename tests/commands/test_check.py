"""`grade check`: the static answer read from the example submissions and from small scripts
written here, within its time; then real short runs on tiny, stopped after a few steps."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from grader import cli
from grader.commands import code_reading
from grader.commands.code_reading import OK, PROBLEM, WARNING
from grader.course import calibration
from grader.course import profiles as profiles_io
from tests.helpers import SUBMISSIONS

STRUCTURE = calibration.load_for("roberta-large").structure
HUB = profiles_io.load("roberta-large").hub_names


def read(folder, entry):
    return code_reading.read(folder, folder / entry, STRUCTURE, HUB)


def problems(items):
    return [i.text for i in items if i.status == PROBLEM]


def script(tmp_path, text, name="train.py"):
    (tmp_path / name).write_text(text)
    return read(tmp_path, name)


GOOD_HEAD = (
    "import mindnlp\nimport os\nfrom peft import IA3Config, get_peft_model\nfrom transformers import AutoModelForSequenceClassification\n"
)
GOOD_TAIL = 'model.save_pretrained(os.environ["GRADER_OUTPUT_DIR"])\n'


def test_the_good_example_reads_without_a_problem():
    items = read(SUBMISSIONS / "good", "train.py")
    assert not problems(items)
    assert {i.topic for i in items if i.status == OK} >= {"import order", "MindNLP API", "IA3", "adapter"}


def test_wrong_modules_and_another_adapter_are_named():
    wrong = problems(read(SUBMISSIONS / "wrong-targets", "train.py"))
    assert any("target_modules = ['query', 'value']" in p and "'key', 'output.dense', 'value'" in p for p in wrong)
    assert any("no IA3Config" in p and "LoraConfig" in p for p in problems(read(SUBMISSIONS / "lora", "train.py")))


def test_import_order_and_the_mindnlp_04_api_are_named_with_their_lines(tmp_path):
    early = script(tmp_path, "import torch\nimport mindnlp\nfrom mindnlp.engine import Trainer\n" + GOOD_TAIL)
    assert any("line 1 imports torch before mindnlp" in p for p in problems(early))
    assert any("MindNLP 0.4 (mindnlp.engine" in p for p in problems(early))
    assert any("never imports mindnlp" in p for p in problems(script(tmp_path, "import transformers\n")))


def test_task_type_saving_and_hub_names(tmp_path):
    items = script(
        tmp_path,
        GOOD_HEAD
        + "from datasets import load_dataset\nimport evaluate\n"
        + 'config = IA3Config(task_type="CAUSAL_LM")\n'
        + 'base = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")\n'
        + 'tok = AutoModelForSequenceClassification.from_pretrained("FacebookAI/roberta-large")\n'
        + 'data = load_dataset("glue", "mrpc")\nlocal = load_dataset("json", data_files="x.jsonl")\n'
        + 'metric = evaluate.load("glue", "mrpc")\n'
        + "model = get_peft_model(base, config)\nmodel.save_pretrained('out')\n",
    )
    found = {i.text.split(" (")[0]: i.status for i in items if i.topic == "offline names"}
    assert found == {
        "model 'bert-base-uncased'": PROBLEM,
        "model 'FacebookAI/roberta-large'": OK,
        "dataset 'glue/mrpc'": OK,
        "metric 'glue/mrpc'": OK,
    }
    assert any('task_type="CAUSAL_LM"' in p or "task_type='CAUSAL_LM'" in p for p in problems(items))
    assert [i.status for i in items if i.topic == "adapter"] == [WARNING]
    no_save = script(tmp_path, GOOD_HEAD + "config = IA3Config(task_type='SEQ_CLS')\n")
    assert any("no save_pretrained" in p for p in problems(no_save))


def test_notebooks_are_read_cell_by_cell_and_broken_json_is_named(tmp_path):
    cells = [
        {"cell_type": "markdown", "source": ["# IA3"]},
        {"cell_type": "code", "source": ["%pip install x\n", "import mindnlp\n"]},
        {"cell_type": "code", "source": "import transformers\nfrom peft import IA3Config\nIA3Config(task_type='SEQ_CLS')\n"},
    ]
    (tmp_path / "hw.ipynb").write_text(json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}))
    items = read(tmp_path, "hw.ipynb")
    assert [i for i in items if i.topic == "notebook"][0].status == OK
    assert any(i.status == OK and "hw.ipynb cell 1, line 2" in i.text for i in items if i.topic == "import order")
    (tmp_path / "hw.ipynb").write_text('{"cells": [')
    assert any("not a valid notebook" in p for p in problems(read(tmp_path, "hw.ipynb")))
    (tmp_path / "hw.ipynb").unlink()
    assert any(p.startswith("train.py, line 1:") for p in problems(script(tmp_path, "def broken(:\n")))


def test_the_static_answer_comes_in_under_ten_seconds_and_sets_the_exit_status(capsys):
    started = time.monotonic()
    assert cli.main(["check", str(SUBMISSIONS / "good"), "--static"]) == 0
    assert time.monotonic() - started < 30  # seconds, not a training's minutes: a margin that holds on a loaded machine
    out = capsys.readouterr().out
    assert "✓ IA3: IA3Config for sequence classification" in out and "Not checked here" in out
    assert cli.main(["check", str(SUBMISSIONS / "wrong-targets"), "--static"]) == 1
    assert cli.main(["check", str(SUBMISSIONS / "missing"), "--static"]) == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    "example, status, says",
    [
        ("good", 0, "gradients reached the IA3 vectors and the head only"),
        ("unfreeze-last-layer", 1, "base tensors changed: roberta.encoder.layer.1"),
        ("no-training", 1, "the IA3 vectors did not move"),
    ],
)
def test_the_short_run_says_where_the_gradients_went(example, status, says, tiny_model_dir, tmp_path, capsys):
    folder = shutil.copytree(SUBMISSIONS / example, tmp_path / example)
    started = time.monotonic()
    assert cli.main(["check", str(folder)]) == status
    took = time.monotonic() - started
    out = capsys.readouterr().out
    assert says in out, out
    assert "stopped as planned" in out and took < 300  # a few steps, not a training: a margin that holds on a loaded machine
    assert not (folder / "grade-results").exists() and sorted(p.name for p in folder.iterdir()) == sorted(
        p.name for p in (SUBMISSIONS / example).iterdir()
    )
