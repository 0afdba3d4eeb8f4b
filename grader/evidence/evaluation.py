"""The grader's own measurement: base model + the student's adapter, eval mode, seeded, on data
the grader reads itself. What the student printed is never used.

On the CPU it runs in the grader's process. On an accelerator it runs in a child process of the
grader's own (not the sandbox: this is the grader's code reading a safetensors adapter) with the
device's environment, so the model is evaluated where it was trained and the grader's process
holds no device memory between students.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from grader.course.mindnlp_env import load
from grader.evidence import metrics

BATCH_SIZE = 32


def _load(model_dir: Path, adapter_dir: Path, seed: int):
    torch, transformers, peft = load()
    torch.manual_seed(seed)  # a base model without a classification head gets a seeded one
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    base = transformers.AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=2)
    model = peft.PeftModel.from_pretrained(base, str(adapter_dir))
    model.eval()
    return torch, tokenizer, model


def predict(model_dir: Path, adapter_dir: Path, rows: list[dict], max_length: int, seed: int) -> np.ndarray:
    torch, tokenizer, model = _load(model_dir, adapter_dir, seed)
    return _predict(torch, tokenizer, model, rows, max_length)


def _predict(torch, tokenizer, model, rows: list[dict], max_length: int) -> np.ndarray:
    # Length-sorted batches pad less; predictions go back to the original order.
    lengths = [len(r["sentence1"]) + len(r["sentence2"]) for r in rows]
    order = np.argsort(lengths, kind="stable")
    predictions = np.zeros(len(rows), dtype=np.int64)
    with torch.no_grad():
        for start in range(0, len(rows), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            batch = tokenizer(
                [rows[i]["sentence1"] for i in idx],
                [rows[i]["sentence2"] for i in idx],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            predictions[idx] = model(**batch).logits.argmax(-1).numpy()
    return predictions


def _score(rows: list[dict], predictions: np.ndarray) -> dict:
    """The metrics, and what predicting this split's own majority class scores: each split is
    compared with its own baseline (the tiny profile's 400 test pairs: 0.6550; validation: 0.6838)."""
    labels = [r["label"] for r in rows]
    result = metrics.classification(labels, predictions)
    baseline = metrics.majority_baseline(labels)
    result |= {"examples": len(rows), "majority_accuracy": baseline["accuracy"], "majority_f1": baseline["f1"]}
    return result


def evaluate(model_dir: Path, adapter_dir: Path, rows: list[dict], max_length: int, seed: int) -> dict:
    return _score(rows, predict(model_dir, adapter_dir, rows, max_length, seed))


def evaluate_splits(model_dir: Path, adapter_dir: Path, splits: dict[str, list[dict]], max_length: int, seed: int) -> dict[str, dict]:
    """Several splits with one model load (validation for the student, held-out test for the instructor)."""
    torch, tokenizer, model = _load(model_dir, adapter_dir, seed)
    return {name: _score(rows, _predict(torch, tokenizer, model, rows, max_length)) for name, rows in splits.items()}


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
