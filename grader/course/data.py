"""GLUE-MRPC from a local directory (JSON lines or GLUE TSV) or, when online, the hub copy.

Rows are dicts with the Hugging Face `glue/mrpc` columns: sentence1, sentence2, label, idx.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from grader.errors import CannotGrade
from grader.paths import cache_dir

ENV_VAR = "GRADER_MRPC_DIR"
HUB = "hub"
SPLITS = ("train", "validation", "test")
HIDDEN_LABEL = -1  # how GLUE marks a label it does not publish
TSV_NAMES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}


def hub_copy() -> Path:
    """Where `--data hub` keeps the hub's train and validation splits, once fetched."""
    return cache_dir() / "mrpc-hub"


def locate(explicit: str | Path | None = None) -> Path:
    """The MRPC directory, in order: --data (the word `hub` fetches the hub copy into the cache),
    $GRADER_MRPC_DIR, the cache an earlier `--data hub` filled."""
    value = explicit or os.environ.get(ENV_VAR)
    if not value:
        if (hub_copy() / "validation.jsonl").is_file():
            return hub_copy()
        raise CannotGrade(
            "no GLUE-MRPC data. Give it in one of three ways: --data DIR (a folder with train/validation "
            f"JSON lines or GLUE's train.tsv/dev.tsv); the environment variable {ENV_VAR}=DIR; or, once, "
            f"with network access, --data hub (fetches glue/mrpc into {hub_copy()}, used from then on)"
        )
    if str(value) == HUB:
        return materialize_hub()
    path = Path(value).expanduser().resolve()
    where = "--data" if explicit else f"${ENV_VAR}"
    if not path.is_dir():
        raise CannotGrade(f"{where} names {path}, which is not a folder")
    if not (path / "train.jsonl").is_file() and not (path / "train.tsv").is_file():
        raise CannotGrade(f"{where} names {path}, which holds neither train.jsonl nor train.tsv (GLUE-MRPC)")
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


def materialize_hub() -> Path:
    """Write the `datasets` hub copy of glue/mrpc as JSON lines into the cache, once.

    Only train and validation: GLUE's public test split has no labels (-1)."""
    target = hub_copy()
    if (target / "validation.jsonl").is_file():
        return target
    unreachable = hub_unreachable()
    if unreachable:
        raise CannotGrade(f"could not fetch glue/mrpc: {unreachable}; pass --data DIR with a local copy")
    try:
        from datasets import load_dataset

        for name in ("datasets", "huggingface_hub"):  # their retries would print a traceback a try
            logging.getLogger(name).setLevel(logging.ERROR)
        hub = load_dataset("glue", "mrpc")
    except Exception as exc:
        raise CannotGrade(
            f"could not fetch glue/mrpc from the hub ({type(exc).__name__}: {exc}); pass --data DIR with a local copy"
        ) from exc
    for split in ("train", "validation"):
        write_jsonl([dict(row) for row in hub[split]], target / f"{split}.jsonl")
    return target


def hub_unreachable(timeout_s: float = 5.0) -> str | None:
    """Why the hub cannot be asked (offline mode, or no answer within `timeout_s`), else None: asked
    blindly, the `datasets` client retries for about 24 s before it gives up."""
    for flag in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(flag, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{flag} is set, so the hub is not asked"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    try:  # any HTTP answer, even an error status, means the hub is there (urllib honours *_PROXY)
        urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout_s).close()
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"the hub ({endpoint}) cannot be reached from here ({reason})"
    return None


def write_jsonl(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def write_student_copy(source: Path, dest: Path, train_limit: int | None) -> dict[str, Path]:
    """Train and validation splits for the student process, and the test split's sentences with
    every label -1 (as GLUE publishes it), so code that builds all three splits runs; the test
    labels never leave the grader."""
    train = load_split(source, "train")
    if train_limit:
        train = train[: int(train_limit)]
    files = {
        "train": write_jsonl(train, dest / "train.jsonl"),
        "validation": write_jsonl(load_split(source, "validation"), dest / "validation.jsonl"),
    }
    try:
        test = load_split(source, "test")
    except CannotGrade:
        return files
    files["test"] = write_jsonl([row | {"label": HIDDEN_LABEL} for row in test], dest / "test.jsonl")
    return files
