"""The probe's channel and record under load and under attack: short-lived honest processes are
filed under their own pid (never an inconsistent record), and a run that floods the channel with
junk, oversized or malformed lines leaves a bounded, fail-closed record and bounded outputs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from grader.course import profiles
from grader.evidence import probe_record
from grader.evidence.probe_record import MAX_MESSAGES
from grader.intake import workspace
from grader.run import devices, execute, private_area
from grader.run.probe_channel import CHANNEL_FILE
from tests.helpers import MRPC_DIR, PEAK_KB, SUBMISSIONS

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


@pytest.mark.slow  # three runs of 60 processes each against a busy grader: about 45 s
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
    # a budget for a loaded machine: 60 processes starting against a busy grader, beside other tests
    outcome, probe = sandboxed_run("short-lived-children", tmp_path, budget=300)
    assert outcome.record.exit_code == 0, (tmp_path / "evidence" / "logs" / "stderr.txt").read_text()[-2000:]
    record = probe_record.load(probe)
    files = sorted(p.name for p in probe.glob("probe-*.jsonl"))
    assert record is not None and len(files) == 61, files  # the main process and its 60 children
    assert not any("unknown" in name for name in files), files
    assert record.inconsistencies == [], (
        f"run {attempt + 1}: {len(record.inconsistencies)} inconsistencies, e.g. {record.inconsistencies[:2]}"
    )


GRADE_MEASURED = f"""
import sys
from grader import cli
code = cli.main(sys.argv[1:])
print("peak-rss-kb", {PEAK_KB})
sys.exit(code)
"""


def graded_with_peak(submission: Path, out: Path) -> tuple[float, subprocess.CompletedProcess]:
    """`grade SUBMISSION --profile tiny` in a process of its own; its peak resident memory in MB."""
    done = subprocess.run(
        [sys.executable, "-c", GRADE_MEASURED, str(submission), "--profile", "tiny", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return int(done.stdout.split("peak-rss-kb")[-1].split()[0]) / 1024, done


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_a_flooded_channel_leaves_a_bounded_record_and_bounded_outputs(tmp_path):
    """3.6 MB of `{}` lines, a 2 MB line, JSON nested 100,000 deep, a string seq, wrong types
    and many connections, through the real `grade` command: it grades (a failed, distrusted
    record, never a grader error), its own memory stays bounded (the old record took 1.5 GB
    for 3 MB of `{}`) and so do results.json, the report and the evidence."""
    quiet = tmp_path / "quiet"
    quiet.mkdir()
    (quiet / "train.py").write_text("print('nothing to see')\n")
    baseline_mb, _ = graded_with_peak(quiet, tmp_path / "quiet-out")  # builds the tiny model first, if it must (~600 MB)
    out = tmp_path / "out"
    peak_mb, done = graded_with_peak(HOSTILE / "probe-flood", out)
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    results, report = out / "results.json", out / "report.html"
    sizes = {"results.json": results.stat().st_size, "report.html": report.stat().st_size, "evidence": folder_bytes(out / "evidence")}
    print(f"peak RSS of grade {peak_mb:.0f} MB (a quiet run: {baseline_mb:.0f} MB); sizes {sizes}")
    assert peak_mb < 300, f"grade peaked at {peak_mb:.0f} MB, a quiet run at {baseline_mb:.0f} MB"
    assert sizes["results.json"] < 1024**2 and sizes["report.html"] < 1024**2, sizes
    assert sizes["evidence"] < 8 * 1024**2, sizes
    tests = {t["tags"][0]: t for t in json.loads(results.read_text())["tests"]}
    message = tests["frozen_base"]["output"]
    assert "the probe's record is inconsistent" in message and "more)" in message, message
    record = probe_record.load(out / "evidence" / "probe")
    assert len(record.inconsistencies) == MAX_MESSAGES and record.more_inconsistencies > 0
    reasons = " | ".join(record.inconsistencies)
    for expected in (
        "seq is not an integer",
        "class is not a string of at most 300",
        "trainable flag is not true or false",
        "JSON nested too deeply",
    ):
        assert expected in reasons, reasons
    cut = json.loads((out / "evidence" / "probe" / CHANNEL_FILE).read_text())["truncated"]
    assert any(why.startswith("a line over 1,048,576 bytes") for why in cut) and any(
        "more than 200,000 lines on one connection" in why for why in cut
    ), cut


def test_malformed_lines_are_inconsistencies_with_their_reasons(tmp_path):
    """Each kind of malformed line, read from the channel's folder: listed with why, never raised."""
    good = {"event": "start", "pid": 7, "seq": 1, "t": 0}
    lines = [
        json.dumps(good).encode(),
        json.dumps(good | {"seq": "2"}).encode(),
        b"[" * 50_000 + b"]" * 50_000,
        b'{"event": "loss", "pid": 7, "seq": 4, "t": 1, "model": 1, "loss": 1' + b"0" * 5000 + b"}",
        json.dumps(good | {"event": "created", "seq": 2, "model": 1, "parameters": [["w", [2, "x"], "f", True, "0"]]}).encode(),
        b"{}",
    ]
    (tmp_path / "probe-7-1.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (tmp_path / "probe-unknown-2.jsonl").write_bytes(json.dumps(good | {"pid": 9}).encode() + b"\n")
    record = probe_record.load(tmp_path)
    reasons = record.inconsistencies
    assert record.inconsistent == len(reasons) == 6, reasons
    assert "line 2 is not a record the probe writes (seq is not an integer" in reasons[0]
    assert "line 3 is not a record the probe writes (JSON nested too deeply)" in reasons[1]
    assert "line 4 is not a record the probe writes (ValueError" in reasons[2]
    assert "line 5: malformed created record (a shape dimension is not an integer" in reasons[3]
    assert "line 6 is not a record the probe writes (event <NoneType>" in reasons[4]
    assert reasons[5] == "probe-unknown-2.jsonl line 1 was sent by a process that exited before the grader could tell its pid: left out"
