"""What the probe costs: one snapshot of RoBERTa-large-sized weights (355M float32 parameters in
the model's tensor shapes, converted from mindtorch tensors and fingerprinted as the probe does),
and the tiny profile's good submission run with and without the probe.

    GRADER_MRPC_DIR=../shared/data/mrpc .venv/bin/python bench/probe_cost.py [--repeat N]
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
from grader.run.inject import SITE_DIR
from grader.run.probe_channel import SOCKET_ENV, ProbeChannel

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "submissions" / "good"


def roberta_large_shapes() -> list[tuple[int, ...]]:
    hidden, inner, vocab = 1024, 4096, 50265
    shapes = [(vocab, hidden), (514, hidden), (1, hidden), (hidden,), (hidden,)]
    for _ in range(24):
        shapes += [(hidden, hidden), (hidden,)] * 4 + [(hidden,), (hidden,)]
        shapes += [(inner, hidden), (inner,), (hidden, inner), (hidden,), (hidden,), (hidden,)]
    return shapes + [(hidden, hidden), (hidden,), (2, hidden), (2,)]


def snapshot_cost() -> None:
    sys.path.insert(0, str(SITE_DIR))
    from grader_hooks import probe

    from grader.course.mindnlp_env import load

    torch, _, _ = load()
    shapes = roberta_large_shapes()
    tensors = [torch.randn(*shape) for shape in shapes]
    size = sum(t.numel() for t in tensors)
    probe._fingerprint(tensors[0])  # warm-up
    started = time.perf_counter()
    for tensor in tensors:
        probe._fingerprint(tensor)
    took = time.perf_counter() - started
    print(f"snapshot of {len(tensors)} tensors, {size:,} float32 parameters ({size * 4 / 2**30:.2f} GiB): {took:.2f} s")


def run_good(with_probe: bool, work: Path) -> float:
    profile = profiles.load("tiny")
    files = data.write_student_copy(data.locate(), work / "data", profile.train_limit)
    output = work / "output"
    output.mkdir()
    variables = environment.student_variables(profile, model_files.ensure(profile, data.locate()), files, output)
    env = environment.student_env(work, variables, profile.device, profile.seed, ("probe",) if with_probe else ())
    with ProbeChannel(work / "probe.sock", work / "probe") as channel:
        if with_probe:
            env[SOCKET_ENV] = str(channel.path)
        started = time.monotonic()
        subprocess.run([sys.executable, "train.py"], cwd=GOOD, env=env, check=True, capture_output=True)
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    snapshot_cost()
    bare, probed = [], []
    for i in range(args.repeat):  # interleaved, so drift in machine load hits both sides
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            bare.append(run_good(False, Path(a)))
            probed.append(run_good(True, Path(b)))
        print(f"run {i + 1}: without probe {bare[-1]:.1f} s, with probe {probed[-1]:.1f} s", flush=True)
    b, p = statistics.median(bare), statistics.median(probed)
    print(f"median without {b:.1f} s, with {p:.1f} s, difference {p - b:+.1f} s ({(p - b) / b:+.1%})")


if __name__ == "__main__":
    main()
