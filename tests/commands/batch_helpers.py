"""What the batch tests share: cheap submissions (scripts that print, sleep or crash without
training, so a test about scheduling stays fast), rosters, and the batch's records read back."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.helpers import ROOT, process_state

# Records its start and end on stdout (the evidence keeps it); waits while `wait` is in its folder.
SLEEPER = """
import os, time
print("began", time.time(), flush=True)
deadline = time.time() + {seconds}
while time.time() < deadline and (not {until_flag} or not os.path.exists("fast")):
    time.sleep(0.1)
print("ended", time.time(), flush=True)
"""

# Saves an IA3 adapter without training it: the grader evaluates it, which is all a test of the
# evaluator needs, in a few seconds instead of a training's.
UNTRAINED_ADAPTER = """
import mindnlp
import os
from peft import IA3Config, TaskType, get_peft_model
from transformers import AutoModelForSequenceClassification
config = IA3Config(task_type=TaskType.SEQ_CLS, target_modules=["key", "value", "output.dense"], feedforward_modules=["output.dense"])
model = get_peft_model(AutoModelForSequenceClassification.from_pretrained(os.environ["GRADER_MODEL_DIR"], num_labels=2), config)
model.save_pretrained(os.path.join(os.environ["GRADER_OUTPUT_DIR"], "ia3-mrpc"))
"""


def adapter_saver(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "train.py").write_text(UNTRAINED_ADAPTER)
    return folder


def submission(root: Path, name: str, seconds: float = 0.0, until_flag: bool = False) -> Path:
    """A one-file submission that runs for `seconds` (until a file `fast` is in it, with until_flag)."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "train.py").write_text(SLEEPER.format(seconds=seconds, until_flag=until_flag))
    return folder


def write_roster(path: Path, rows, header=("student", "submission")) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def batch_command(roster: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "grader.cli", "batch", str(roster), "--out", str(out), "--profile", "tiny", *extra]


def batch_env() -> dict[str, str]:
    """The grader of this checkout, with the test session's data and cache."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}


def run_batch(roster: Path, out: Path, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(batch_command(roster, out, *extra), env=batch_env(), capture_output=True, text=True, timeout=timeout)


def students(out: Path) -> dict[str, dict]:
    """The batch's gradebook by student ({} before the batch has made it)."""
    if not (out / "gradebook.sqlite").is_file():
        return {}
    with sqlite3.connect(f"file:{out / 'gradebook.sqlite'}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        try:
            return {row["student"]: dict(row) for row in db.execute("SELECT * FROM students")}
        except sqlite3.OperationalError:  # being created
            return {}


def attempts(out: Path) -> list[dict]:
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM attempts")]


def gradebook(out: Path) -> dict[str, dict]:
    with (out / "gradebook.csv").open() as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def carrying(*variables: str) -> list[int]:
    """Live processes whose environment holds one of `variables` (NAME=value)."""
    needles = {variable.encode() for variable in variables}
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                environ = Path(f"/proc/{entry.name}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if process_state(entry.name) not in (None, "Z") and needles & set(environ):
                found.append(int(entry.name))
    return found


def carrying_any(tokens: list[str]) -> list[int]:
    """Live processes carrying one of the batch's attempt tokens in their environment."""
    return carrying(*(f"GRADER_ATTEMPT_TOKEN={t}" for t in tokens if t))


class EvaluatorWatch(threading.Thread):
    """Every evaluator process seen, polling /proc every 0.1 s until stop(), among the processes
    whose environment holds `marker` (NAME=value, given to the batch that starts them)."""

    def __init__(self, marker: str):
        super().__init__(daemon=True)
        self.marker, self.seen, self._done = marker, set(), threading.Event()

    def run(self) -> None:
        needle = self.marker.encode()
        while not self._done.is_set():
            for entry in os.scandir("/proc"):
                try:
                    evaluator = entry.name.isdigit() and b"grader.evidence.evaluator_server" in Path(entry.path, "cmdline").read_bytes()
                    if evaluator and needle in Path(entry.path, "environ").read_bytes().split(b"\0"):
                        self.seen.add(int(entry.name))
                except OSError:
                    pass
            time.sleep(0.1)

    def stop(self) -> set[int]:
        self._done.set()
        self.join()
        return self.seen
