"""Grader overhead: `grade submissions/good --profile tiny` against the same script run bare
with the same environment, side by side in one run. Prints both wall times and their ratio, per
run and overall (the paired ratios are the steadier figure on a machine whose load drifts).

    GRADER_MRPC_DIR=../shared/data/mrpc .venv/bin/python bench/overhead.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.course import data, model_files, profiles
from grader.run import environment

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "submissions" / "good"


def bare_run(profile, mrpc: Path, work: Path) -> float:
    files = data.write_student_copy(mrpc, work / "data", profile.train_limit)
    output = work / "output"
    output.mkdir()
    env = environment.student_env(
        work,
        environment.student_variables(profile, model_files.ensure(profile, data.locate()), files, output),
        profile.device,
        profile.seed,
    )
    start = time.monotonic()
    subprocess.run([sys.executable, "train.py"], cwd=GOOD, env=env, check=True, capture_output=True)
    return time.monotonic() - start


def graded_run(out: Path) -> float:
    start = time.monotonic()
    command = [sys.executable, "-m", "grader.cli", str(GOOD), "--profile", "tiny", "--out", str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)  # this checkout's grader
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    profile = profiles.load("tiny")
    mrpc = data.locate()
    model_files.ensure(profile, mrpc)
    bare, graded = [], []
    for i in range(args.repeat):  # interleaved, so drift in machine load hits both sides
        with tempfile.TemporaryDirectory() as work:
            bare.append(bare_run(profile, mrpc, Path(work)))
            graded.append(graded_run(Path(work) / "graded"))
        print(f"run {i + 1}: bare {bare[-1]:.1f} s, graded {graded[-1]:.1f} s, ratio {graded[-1] / bare[-1]:.2f}x", flush=True)
    b, g = statistics.median(bare), statistics.median(graded)
    paired = statistics.median(gr / br for gr, br in zip(graded, bare, strict=True))
    print(f"median bare {b:.1f} s, median graded {g:.1f} s, overhead ratio {g / b:.2f}x (+{g - b:.1f} s)")
    print(f"median of the paired ratios (each graded run against the bare run beside it): {paired:.2f}x")


if __name__ == "__main__":
    main()
