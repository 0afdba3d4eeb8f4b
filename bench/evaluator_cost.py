"""Adapter evaluation per student: through a warm long-lived evaluator against a fresh
load-and-evaluate (a new process importing MindNLP, loading the base model, tokenising and
evaluating), side by side in one run, on the tiny profile's validation + held-out test pairs.
Also the fixed part alone (no split evaluated: the fresh side imports and loads, the evaluator
wraps the base with the adapter, restores and checks it), which is what the evaluator removes.

    GRADER_MRPC_DIR=../shared/data/mrpc .venv/bin/python bench/evaluator_cost.py [--repeat N] [--profile P] [--device SPEC]

`--profile roberta-large --device ascend:0` (or gpu:0) measures the case the goal is about; the
default is the tiny profile on the CPU.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

from grader.course import data, model_files, profiles
from grader.evidence import evaluation
from grader.evidence.evaluator import Evaluator
from grader.run import devices


def make_adapter(model_dir: Path, folder: Path) -> Path:
    """A real IA3 adapter (the reference configuration), saved by PEFT in a child process so this
    process stays free of MindSpore."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from grader.commands.calibrate import reference_module\n"
        "from grader.course.mindnlp_env import load\n"
        "_, transformers, peft = load()\n"
        "base = transformers.AutoModelForSequenceClassification.from_pretrained(sys.argv[1])\n"
        "peft.get_peft_model(base, reference_module().peft_config()).save_pretrained(sys.argv[2])\n"
    )
    subprocess.run([sys.executable, "-c", script, str(model_dir), str(folder)], check=True, capture_output=True)
    return folder


def timed(call) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--device", help="cpu, gpu:N or ascend:N (default: the profile's)")
    args = parser.parse_args()
    profile = profiles.load(args.profile)
    device = devices.parse(args.device or profile.device)
    mrpc = data.locate()
    model_dir = model_files.ensure(profile, mrpc)
    splits, _ = evaluation.splits_for(mrpc, profile.test_limit)
    with tempfile.TemporaryDirectory() as work, Evaluator.start(profile, model_dir, mrpc, device) as evaluator:
        env = devices.environment(device, Path(work) / "device")
        adapter = make_adapter(model_dir, Path(work) / "adapter")
        evaluator.evaluate(adapter)  # waits for its load: the once-per-slot part, not measured
        rows = {"full": ([], []), "fixed": ([], [])}
        for i in range(args.repeat):  # interleaved, so drift in machine load hits both sides
            for kind, chosen in (("full", splits), ("fixed", {})):
                fresh = timed(
                    partial(evaluation.evaluate_isolated, model_dir, adapter, chosen, profile.max_length, profile.seed, env, 3600)
                )
                warm = timed(partial(evaluator.evaluate, adapter, splits=tuple(chosen)))
                rows[kind][0].append(fresh)
                rows[kind][1].append(warm)
                print(f"run {i + 1} {kind:5}: fresh {fresh:.2f} s, evaluator {warm:.2f} s", flush=True)
    pairs = sum(len(r) for r in splits.values())
    for kind, (fresh, warm) in rows.items():
        f, w = statistics.median(fresh), statistics.median(warm)
        what = f"{pairs} pairs" if kind == "full" else "no pairs (fixed cost)"
        print(f"median {kind:5} ({what}): fresh {f:.2f} s, evaluator {w:.2f} s, ratio {w / f:.3f}x")


if __name__ == "__main__":
    main()
