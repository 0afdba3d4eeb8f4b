"""Batch scaling: `grade batch` of N copies of one submission on S slots against N x (one
student's batch time) / S, measured side by side in one run. Prints both wall times and the ratio
(1.00 is perfect scaling; the goal is within 10 %, where S does not exceed the cores or devices).

    GRADER_MRPC_DIR=../shared/data/mrpc .venv/bin/python bench/batch_scaling.py [-n 4] [--slots 2] [--submission PATH]
        [--profile P] [--devices SPEC]

`--profile roberta-large --devices ascend:0-7` grades on one slot per device (the single student
on the first device alone), the case the goal is about; the default is the tiny profile on CPU
slots (`--jobs`).

The default submission is the bundled good one (real training on the tiny profile). `--sleep S`
grades a script that only sleeps S seconds instead: that measures the batch's own scheduling
cost, without the slots competing for CPU cores.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.commands import slots

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "submissions" / "good"


def batch(roster: Path, out: Path, slots: str, profile: str) -> float:
    """`slots`: --jobs N, or --devices SPEC."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    option = ["--devices", slots] if ":" in slots else ["--jobs", slots]
    command = [sys.executable, "-m", "grader.cli", "batch", str(roster), "--out", str(out), "--profile", profile, *option]
    start = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    took = time.monotonic() - start
    if done.returncode not in (0, 1):
        sys.exit(f"batch failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return took


def roster(path: Path, submission: Path, n: int) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "submission"])
        writer.writerows([(f"student {i + 1}", str(submission)) for i in range(n)])
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=4, help="students in the batch")
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--submission", type=Path, default=GOOD)
    parser.add_argument("--sleep", type=float, help="grade a script that sleeps this long instead")
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--devices", help="one slot per device, e.g. ascend:0-7 or gpu:0,1 (instead of --slots CPU slots)")
    args = parser.parse_args()
    if args.devices:
        kind, _, ids = args.devices.partition(":")
        numbers = slots.parse_ids(ids)
        args.slots = len(numbers)
        one_slot, all_slots = f"{kind}:{numbers[0]}", args.devices
    else:
        one_slot, all_slots = "1", str(args.slots)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        submission = args.submission
        if args.sleep is not None:
            submission = work / "sleeper"
            submission.mkdir()
            (submission / "train.py").write_text(f"import time\ntime.sleep({args.sleep})\n")
        single = batch(roster(work / "one.csv", submission, 1), work / "one", one_slot, args.profile)
        many = batch(roster(work / "many.csv", submission, args.n), work / "many", all_slots, args.profile)
    ideal = args.n * single / args.slots
    what = submission.name if args.sleep is None else f"sleep {args.sleep:g} s"
    print(f"submission: {what}; {os.cpu_count()} CPU cores; slots: {all_slots}")
    print(f"single: {single:.1f} s; batch of {args.n} on {args.slots} slots: {many:.1f} s; N x single / S: {ideal:.1f} s")
    print(f"ratio batch / (N x single / S): {many / ideal:.2f}x")


if __name__ == "__main__":
    main()
