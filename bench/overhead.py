"""Grader overhead: `grade submissions/good --profile tiny` against the same script run bare
with the same environment, side by side in one run. Prints both wall times and their ratio, per
run and overall (the paired ratios are the steadier figure on a machine whose load drifts), and
the graded run's phases as its scored.json records them: "evaluate" is the grader's own
inference over the validation and test pairs, which no grading can skip; the ratio without it
is what the rest of the grader (copies, sandbox, probe, checks, reports) adds.

    GRADER_MRPC_DIR=../shared/data/mrpc .venv/bin/python bench/overhead.py [--repeat N] [--profile P] [--device SPEC]

`--profile roberta-large --device ascend:0` (or gpu:0) measures the case the goals are about; the
default is the tiny profile on the CPU.
"""

from __future__ import annotations

import argparse
import json
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


def bare_run(profile, device: devices.Device, mrpc: Path, work: Path) -> float:
    files = data.write_student_copy(mrpc, work / "data", profile.train_limit)
    output = work / "output"
    output.mkdir()
    variables = environment.student_variables(profile, model_files.ensure(profile, data.locate()), files, output)
    variables.update(devices.environment(device, work / "home"))
    env = environment.student_env(work, variables, device.target, profile.seed)
    start = time.monotonic()
    subprocess.run([sys.executable, "train.py"], cwd=GOOD, env=env, check=True, capture_output=True)
    return time.monotonic() - start


def graded_run(out: Path, profile: str, device: str) -> tuple[float, dict[str, float]]:
    """Wall time of a grading, and its phases' seconds."""
    start = time.monotonic()
    command = [sys.executable, "-m", "grader.cli", str(GOOD), "--profile", profile, "--device", device, "--out", str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)  # this checkout's grader
    took = time.monotonic() - start
    return took, json.loads((out / "scored.json").read_text())["result"]["phases"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--device", help="cpu, gpu:N or ascend:N (default: the profile's)")
    args = parser.parse_args()
    profile = profiles.load(args.profile)
    spec = args.device or profile.device
    device = devices.parse(spec)
    mrpc = data.locate()
    model_files.ensure(profile, mrpc)
    bare, graded, inference = [], [], []
    for i in range(args.repeat):  # interleaved, so drift in machine load hits both sides
        with tempfile.TemporaryDirectory() as work:
            bare.append(bare_run(profile, device, mrpc, Path(work)))
            took, phases = graded_run(Path(work) / "graded", args.profile, spec)
        graded.append(took)
        inference.append(phases.get("evaluate", 0.0))
        shown = ", ".join(f"{name} {seconds:.1f}" for name, seconds in phases.items())
        print(f"run {i + 1}: bare {bare[-1]:.1f} s, graded {took:.1f} s, ratio {took / bare[-1]:.2f}x; phases (s): {shown}", flush=True)
    b, g, e = statistics.median(bare), statistics.median(graded), statistics.median(inference)
    paired = statistics.median(gr / br for gr, br in zip(graded, bare, strict=True))
    rest = statistics.median((gr - ev) / br for gr, ev, br in zip(graded, inference, bare, strict=True))
    print(f"median bare {b:.1f} s, median graded {g:.1f} s, overhead ratio {g / b:.2f}x (+{g - b:.1f} s)")
    print(f"median of the paired ratios (each graded run against the bare run beside it): {paired:.2f}x")
    print(f"the grader's own inference (phase evaluate): median {e:.1f} s, {e / b:.2f} of the bare run")
    print(f"median paired ratio without that inference (everything else the grader adds): {rest:.2f}x")


if __name__ == "__main__":
    main()
