"""MindSpore's launch mode on the CPU: `submissions/good`'s train.py run bare with the student's
environment, once launched blocking (MS_DEV_LAUNCH_BLOCKING=1, what the grader gives CPU runs and
its evaluator) and once asynchronously (MindSpore's default), interleaved in one run. Prints the
wall and CPU seconds of each and their ratios.

    GRADER_MRPC_DIR=../shared/data/mrpc .venv/bin/python bench/cpu_launch.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.course import data, model_files, profiles
from grader.run import devices, environment

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "submissions" / "good"


def run(profile, mrpc: Path, work: Path, blocking: bool) -> tuple[float, float]:
    """Wall and CPU seconds (the child's user + system) of one bare run of train.py."""
    files = data.write_student_copy(mrpc, work / "data", profile.train_limit)
    output = work / "output"
    output.mkdir()
    variables = environment.student_variables(profile, model_files.ensure(profile, mrpc), files, output)
    variables.update(devices.environment(devices.parse("cpu"), work / "home"))
    if not blocking:
        del variables["MS_DEV_LAUNCH_BLOCKING"]
    env = environment.student_env(work, variables, "CPU", profile.seed)
    before, start = os.times(), time.monotonic()
    subprocess.run([sys.executable, "train.py"], cwd=GOOD, env=env, check=True, capture_output=True)
    took, after = time.monotonic() - start, os.times()
    return took, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    profile = profiles.load("tiny")
    mrpc = data.locate()
    found: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for i in range(args.repeat):  # interleaved, so drift in machine load hits both sides
        for blocking in (True, False):
            with tempfile.TemporaryDirectory() as work:
                found[blocking].append(run(profile, mrpc, Path(work), blocking))
        (bw, bc), (aw, ac) = found[True][-1], found[False][-1]
        print(f"run {i + 1}: blocking {bw:.1f} s wall / {bc:.1f} s CPU, asynchronous {aw:.1f} s wall / {ac:.1f} s CPU", flush=True)
    wall = {mode: statistics.median(w for w, _ in runs) for mode, runs in found.items()}
    cpu = {mode: statistics.median(c for _, c in runs) for mode, runs in found.items()}
    print(f"median wall: blocking {wall[True]:.1f} s, asynchronous {wall[False]:.1f} s, ratio {wall[False] / wall[True]:.2f}x")
    print(f"median CPU:  blocking {cpu[True]:.1f} s, asynchronous {cpu[False]:.1f} s, ratio {cpu[False] / cpu[True]:.2f}x")


if __name__ == "__main__":
    main()
