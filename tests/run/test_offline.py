"""Offline redirection hooks in a real child process: against stand-in modules shaped like
MindNLP 0.4's `mindnlp.dataset` (which wraps datasets.load_dataset), and against the real
datasets and evaluate packages."""

import json
import subprocess
import sys
from pathlib import Path

from grader.course import data
from grader.evidence import metrics
from grader.run import offline
from grader.run.inject import SITE_DIR


def run_child(tmp_path, code, files):
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps(offline.mapping(files)))
    env = {
        "PYTHONPATH": f"{SITE_DIR}:{tmp_path / 'standins'}",
        "GRADER_HOOKS": "offline,importorder",
        "GRADER_OFFLINE_MAP": str(mapping),
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",  # as a run's environment: nothing written into grader/run/inject
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_EVALUATE_OFFLINE": "1",
    }
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)


def test_stand_in_mindnlp_04_dataset_loader_gets_the_local_splits(tmp_path):
    standins = tmp_path / "standins"
    (standins / "datasets").mkdir(parents=True)
    (standins / "mindnlp" / "dataset").mkdir(parents=True)
    (standins / "datasets" / "__init__.py").write_text(
        "calls = []\n"
        "class Value:\n    def __init__(self, kind): self.kind = kind\n"
        "class ClassLabel:\n    def __init__(self, names): self.names = names\n"
        "class Features(dict): pass\n"
        "def load_dataset(path, name=None, **kwargs):\n    calls.append((path, name, kwargs)); return 'hub:' + path\n"
    )
    (standins / "mindnlp" / "__init__.py").write_text("")
    (standins / "mindnlp" / "dataset" / "__init__.py").write_text(
        "from datasets import load_dataset as hf_load\n"  # as MindNLP 0.4 and 0.5 bind it
        "def load_dataset(path, name=None, **kwargs):\n    return ('converted', hf_load(path, name, **kwargs))\n"
    )
    files = {"train": tmp_path / "train.jsonl", "validation": tmp_path / "validation.jsonl"}
    done = run_child(
        tmp_path,
        (
            "import mindnlp\n"
            "from mindnlp.dataset import load_dataset\n"
            "import datasets\n"
            "load_dataset('glue', 'mrpc', split='validation')\n"
            "load_dataset('imdb')\n"
            "path, name, kwargs = datasets.calls[0]\n"
            "print(path, name, sorted(kwargs['data_files']), kwargs['split'], kwargs['features']['label'].names)\n"
            "print(datasets.calls[1][0])\n"
            "try:\n    load_dataset('nyu-mll/glue', 'mrpc', split='test')\n"
            "except ValueError as exc:\n    print('refused:', exc)\n"
        ),
        files,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "json None ['train', 'validation'] validation ['not_equivalent', 'equivalent']"
    assert lines[1] == "imdb"  # names not in the mapping go to the original loader
    assert lines[2].startswith("refused: offline grading serves only the train and validation splits of nyu-mll/glue/mrpc")


def test_real_datasets_and_evaluate_are_served_locally_with_the_same_metric(tmp_path, mrpc_dir):
    files = data.write_student_copy(mrpc_dir, tmp_path / "student-copy", None)  # what a run is given
    rows = [json.loads(line) for line in (mrpc_dir / "validation.jsonl").read_text().splitlines()]
    labels = [r["label"] for r in rows]
    predictions = [(r["idx"] * 7) % 3 != 0 for r in rows]  # a fixed, imperfect prediction
    done = run_child(
        tmp_path,
        (
            "import json, sys\n"
            "from datasets import load_dataset\n"
            "import evaluate\n"
            "ds = load_dataset('glue', 'mrpc')\n"
            "print(json.dumps({k: len(v) for k, v in ds.items()}))\n"
            "print(ds['train'].features['label'].names)\n"
            "metric = evaluate.load('glue', 'mrpc')\n"
            "refs = ds['validation']['label']\n"
            "preds = [int((i * 7) % 3 != 0) for i in ds['validation']['idx']]\n"
            "metric.add_batch(predictions=preds[:100], references=refs[:100])\n"
            "metric.add_batch(predictions=preds[100:], references=refs[100:])\n"
            "print(json.dumps(metric.compute()))\n"
            "print(json.dumps(evaluate.load('accuracy').compute(predictions=preds, references=refs)))\n"
            "print(sorted(set(ds['test']['label'])), len(set(ds['test']['sentence1'])) > 1000)\n"
            "try:\n    metric.compute(predictions=[0] * 5, references=ds['test']['label'][:5])\n"
            "except ValueError as exc:\n    print('refused:', exc)\n"
        ),
        files,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout.splitlines()
    assert json.loads(out[0]) == {"train": 3668, "validation": 408, "test": 1725}
    assert out[1] == "['not_equivalent', 'equivalent']"
    expected = metrics.classification(labels, [int(p) for p in predictions])
    glue = json.loads(out[2])
    assert set(glue) == {"accuracy", "f1"}
    assert abs(glue["accuracy"] - expected["accuracy"]) < 1e-12 and abs(glue["f1"] - expected["f1"]) < 1e-12
    assert json.loads(out[3]) == {"accuracy": glue["accuracy"]}
    assert out[4] == "[-1] True"  # the test split's sentences, its labels held back as GLUE does
    assert out[5].startswith("refused: the references hold label -1: the grader serves MRPC's test split with its labels held back")


def test_hub_cache_makes_model_names_resolve_to_the_local_model(tmp_path, tiny_model_dir):
    hub = tmp_path / "hf" / "hub"
    offline.hub_cache(hub, ("roberta-large", "FacebookAI/roberta-large"), tiny_model_dir)
    env = {
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "from huggingface_hub import snapshot_download\n"
                "print(snapshot_download('roberta-large'))\nprint(snapshot_download('FacebookAI/roberta-large'))\n"
            ),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout
    for line in lines:
        assert hub in Path(line).parents
        assert (Path(line) / "config.json").resolve() == (tiny_model_dir / "config.json").resolve()
