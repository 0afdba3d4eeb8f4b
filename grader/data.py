"""GLUE-MRPC from a local directory (JSON lines or GLUE TSV) or, when online, the hub copy.

Rows are dicts with the Hugging Face `glue/mrpc` columns: sentence1, sentence2, label, idx.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from .errors import CannotGrade

ENV_VAR = "GRADER_MRPC_DIR"
SPLITS = ("train", "validation", "test")
TSV_NAMES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}


def locate(explicit: str | Path | None = None) -> Path:
    """The MRPC directory: --data, else $GRADER_MRPC_DIR."""
    value = explicit or os.environ.get(ENV_VAR)
    if not value:
        raise CannotGrade(f"no MRPC data: pass --data DIR or set {ENV_VAR} to a directory with train/validation JSON lines or GLUE TSV files")
    path = Path(value).expanduser().resolve()
    if not (path / "train.jsonl").is_file() and not (path / "train.tsv").is_file():
        raise CannotGrade(f"{path} holds neither train.jsonl nor train.tsv (GLUE MRPC)")
    return path


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _read_tsv(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for idx, rec in enumerate(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)):
            if "Quality" not in rec:
                raise CannotGrade(f"{path} has no labels (column 'Quality'); GLUE's public test.tsv cannot be graded")
            rows.append({"sentence1": rec["#1 String"], "sentence2": rec["#2 String"], "label": int(rec["Quality"]), "idx": idx})
    return rows


def load_split(directory: Path, split: str) -> list[dict]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    jsonl, tsv = directory / f"{split}.jsonl", directory / TSV_NAMES[split]
    if jsonl.is_file():
        return _read_jsonl(jsonl)
    if tsv.is_file():
        return _read_tsv(tsv)
    raise CannotGrade(f"MRPC split {split!r} not found in {directory} (looked for {jsonl.name} and {tsv.name})")


def load_hub_split(split: str) -> list[dict]:
    """The `datasets` hub copy; only for machines with network access."""
    from datasets import load_dataset

    return [dict(row) for row in load_dataset("glue", "mrpc", split=split)]


def write_jsonl(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def write_student_copy(source: Path, dest: Path, train_limit: int | None) -> dict[str, Path]:
    """Train and validation splits for the student process; the test split is never copied."""
    train = load_split(source, "train")
    if train_limit:
        train = train[: int(train_limit)]
    return {
        "train": write_jsonl(train, dest / "train.jsonl"),
        "validation": write_jsonl(load_split(source, "validation"), dest / "validation.jsonl"),
    }
