"""The probe's channel and record under load and under attack: short-lived honest processes are
filed under their own pid (never an inconsistent record), and a run that floods the channel with
junk, oversized or malformed lines leaves a bounded, fail-closed record and bounded outputs."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from grader.course import profiles
from grader.evidence import probe_record
from grader.intake import workspace
from grader.run import devices, execute, private_area
from tests.helpers import MRPC_DIR, SUBMISSIONS

HOSTILE = SUBMISSIONS / "hostile"


def sandboxed_run(case: str, tmp_path: Path, budget: float = 60) -> tuple[execute.RunOutcome, Path]:
    """`case` run as a grading runs it (bubblewrap, its own PID namespace); returns the outcome
    and the folder the probe channel stored the record in."""
    folder = tmp_path / "submission"
    folder.mkdir(parents=True)
    for item in (HOSTILE / case).iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "validation", "test"):
        (data / f"{split}.jsonl").write_bytes((MRPC_DIR / f"{split}.jsonl").read_bytes())
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "roberta"}')
    evidence = tmp_path / "evidence"
    request = execute.RunRequest(
        profiles.load("tiny"), model, data, devices.Device("cpu"), sys.executable, budget, evidence / "logs", evidence / "probe"
    )
    with private_area.private_area("grade-", 256 * 1024**2) as private:
        outcome = execute.run(workspace.prepare(folder, private / "work"), request, private)
    return outcome, evidence / "probe"


class BusyGrader(threading.Thread):
    """Pure-Python work in the grader's own process, as a batch's slot and display threads do:
    the channel's threads wait their turn for the interpreter."""

    def __init__(self):
        super().__init__(daemon=True)
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            sum(range(10_000))


def test_short_lived_processes_leave_a_consistent_record(tmp_path):
    """60 Python processes in the sandbox, 30 at a time, each connecting, sending its first line
    and exiting at once, three runs in a row while the grader's process is busy: every line is
    filed under the pid it was sent by."""
    busy = [BusyGrader() for _ in range(4)]
    for thread in busy:
        thread.start()
    try:
        for attempt in range(3):
            check_one_run(tmp_path / str(attempt), attempt)
    finally:
        for thread in busy:
            thread.done.set()
            thread.join()


def check_one_run(tmp_path: Path, attempt: int) -> None:
    if True:
        outcome, probe = sandboxed_run("short-lived-children", tmp_path)
        assert outcome.record.exit_code == 0, (tmp_path / "evidence" / "logs" / "stderr.txt").read_text()[-2000:]
        record = probe_record.load(probe)
        assert record is not None and len(record.files) == 61, record.files  # the main process and its 60 children
        assert record.inconsistencies == [], f"run {attempt + 1}: {len(record.inconsistencies)} inconsistencies, e.g. {record.inconsistencies[:2]}"
