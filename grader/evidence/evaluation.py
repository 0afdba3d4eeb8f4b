"""The grader's own measurement: base model + the student's adapter, eval mode, on data the grader
reads itself. What the student printed is never used.

The pieces here are shared by the long-lived evaluator (evaluator_server: base model loaded and
data tokenised once, adapters evaluated on request) and by a fresh evaluation of one adapter
(the fallback when that evaluator is gone): both go through load_base, tokenise and logits, so
they give the same numbers bit for bit. A fresh evaluation runs in a child process of the
grader's own (not the sandbox: this is the grader's code reading a safetensors adapter) with the
device's environment, so the grader's process never imports MindSpore and holds no device memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from grader.course import data
from grader.course.mindnlp_env import load
from grader.errors import CannotGrade
from grader.evidence import metrics

BATCH_SIZE = 64  # fewer, larger batches: on the CPU the per-operation cost dominates a small model


def splits_for(mrpc_dir: Path, test_limit: int | None) -> tuple[dict[str, list[dict]], str | None]:
    """Validation (the student sees it) and the held-out test split (the instructor does; its
    first `test_limit` pairs), with why the test split is missing, if it is."""
    splits = {"validation": data.load_split(mrpc_dir, "validation")}
    try:
        test = data.load_split(mrpc_dir, "test")[: test_limit or None]
        if any(row["label"] not in (0, 1) for row in test):
            raise CannotGrade(f"{mrpc_dir} holds GLUE's public test split, whose labels are hidden (-1); use a copy with the corpus labels")
        splits["test"] = test
    except CannotGrade as exc:
        return splits, f"no labelled test split: {exc}"
    return splits, None


def load_base(model_dir: Path, seed: int):
    """(torch, peft), tokenizer and the base model in eval mode. A checkpoint without a
    classification head (the hub's roberta-large) gets one drawn from numpy's seeded generator:
    mindtorch's manual_seed does not make its own random draws repeat."""
    torch, transformers, peft = load()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    base, info = transformers.AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=2, output_loading_info=True)
    missing = set(info["missing_keys"])
    if missing:
        rng = np.random.default_rng(seed)
        with torch.no_grad():
            for name, param in base.named_parameters():
                if name in missing:
                    value = np.zeros(param.shape) if name.endswith("bias") else rng.normal(0, base.config.initializer_range, param.shape)
                    param.copy_(torch.tensor(value.astype(np.float32)))
    base.eval()
    return (torch, peft), tokenizer, base


def tokenise(tokenizer, rows: list[dict], max_length: int) -> list[tuple[np.ndarray, dict]]:
    """Length-sorted batches (they pad less), each with the rows' original positions."""
    lengths = [len(r["sentence1"]) + len(r["sentence2"]) for r in rows]
    order = np.argsort(lengths, kind="stable")
    batches = []
    for start in range(0, len(rows), BATCH_SIZE):
        idx = order[start : start + BATCH_SIZE]
        encoded = tokenizer(
            [rows[i]["sentence1"] for i in idx],
            [rows[i]["sentence2"] for i in idx],
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
        batches.append((idx, encoded))
    return batches


def logits(torch, model, batches: list[tuple[np.ndarray, dict]], size: int) -> np.ndarray:
    """The model's logits for every row, back in the original order."""
    out = np.zeros((size, 2), dtype=np.float32)
    with torch.no_grad():
        for idx, encoded in batches:
            out[idx] = model(**encoded).logits.numpy()
    return out


def score(rows: list[dict], predictions: np.ndarray) -> dict:
    """The metrics, and what predicting this split's own majority class scores: each split is
    compared with its own baseline (the tiny profile's 400 test pairs: 0.6550; validation: 0.6838)."""
    labels = [r["label"] for r in rows]
    result = metrics.classification(labels, predictions)
    baseline = metrics.majority_baseline(labels)
    result |= {"examples": len(rows), "majority_accuracy": baseline["accuracy"], "majority_f1": baseline["f1"]}
    return result


def with_adapter(stack, base, adapter_dir: Path, seed: int):
    """The base wrapped with the student's adapter, in eval mode; the generator is seeded first
    so anything PEFT draws is drawn alike wherever this runs."""
    torch, peft = stack
    torch.manual_seed(seed)
    model = peft.PeftModel.from_pretrained(base, str(adapter_dir))
    model.eval()
    return model


def predict_logits(model_dir: Path, adapter_dir: Path, splits: dict[str, list[dict]], max_length: int, seed: int) -> dict[str, np.ndarray]:
    """A fresh evaluation: load everything, evaluate one adapter on each split."""
    stack, tokenizer, base = load_base(model_dir, seed)
    model = with_adapter(stack, base, adapter_dir, seed)
    return {name: logits(stack[0], model, tokenise(tokenizer, rows, max_length), len(rows)) for name, rows in splits.items()}


def predict(model_dir: Path, adapter_dir: Path, rows: list[dict], max_length: int, seed: int) -> np.ndarray:
    return predict_logits(model_dir, adapter_dir, {"rows": rows}, max_length, seed)["rows"].argmax(-1)


def evaluate(model_dir: Path, adapter_dir: Path, rows: list[dict], max_length: int, seed: int) -> dict:
    return score(rows, predict(model_dir, adapter_dir, rows, max_length, seed))


def evaluate_splits(model_dir: Path, adapter_dir: Path, splits: dict[str, list[dict]], max_length: int, seed: int) -> dict[str, dict]:
    """Several splits with one model load (validation for the student, held-out test for the instructor)."""
    found = predict_logits(model_dir, adapter_dir, splits, max_length, seed)
    return {name: score(rows, found[name].argmax(-1)) for name, rows in splits.items()}


def evaluate_isolated(
    model_dir: Path,
    adapter_dir: Path,
    splits: dict[str, list[dict]],
    max_length: int,
    seed: int,
    device_env: dict[str, str],
    timeout: float,
) -> dict[str, dict]:
    """evaluate_splits in a child process with the device's environment (DEVICE_TARGET, visible devices)."""
    with tempfile.TemporaryDirectory(prefix="grade-eval-") as work:
        request, answer = Path(work) / "request.json", Path(work) / "answer.json"
        request.write_text(
            json.dumps(
                {"model_dir": str(model_dir), "adapter_dir": str(adapter_dir), "splits": splits, "max_length": max_length, "seed": seed}
            )
        )
        done = subprocess.run(
            [sys.executable, "-m", "grader.evidence.evaluation", str(request), str(answer)],
            env=os.environ | device_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0 or not answer.is_file():
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            raise RuntimeError(f"evaluation process exited with status {done.returncode}: {(lines or ['no output'])[-1]}")
        return json.loads(answer.read_text())


def _main(request_path: str, answer_path: str) -> None:
    request = json.loads(Path(request_path).read_text())
    measured = evaluate_splits(
        Path(request["model_dir"]), Path(request["adapter_dir"]), request["splits"], request["max_length"], request["seed"]
    )
    Path(answer_path).write_text(json.dumps(measured))


if __name__ == "__main__":
    _main(*sys.argv[1:3])
