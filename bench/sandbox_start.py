"""Sandbox start-up cost: a script that only imports the standard library and exits, run as a
grading runs it (private copy, data copy, hooks, probe socket), in the sandbox and with
--unsafe-no-sandbox's limits only, alternately in one run. Prints both wall times and their ratio.

    GRADER_MRPC_DIR=../shared/data/mrpc .venv/bin/python bench/sandbox_start.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from grader.course import data, profiles
from grader.intake import workspace
from grader.run import devices, execute, private_area

SCRIPT = "import json, os, sys\nprint(sys.version.split()[0], os.getcwd())\n"


def one_run(unsafe: bool, model: Path, mrpc: Path, scratch: Path) -> float:
    profile = profiles.load("tiny")
    folder = Path(tempfile.mkdtemp(dir=scratch))
    (folder / "train.py").write_text(SCRIPT)
    request = execute.RunRequest(
        profile, model, mrpc, devices.Device("cpu"), sys.executable, 60, folder / "logs", folder / "probe", unsafe=unsafe
    )
    with private_area.private_area("bench-", 1024**3) as private:
        ws = workspace.prepare(folder, private / "work")
        record = execute.run(ws, request, private).record
    assert record.exit_code == 0, Path(record.stderr_path).read_text()
    return record.wall_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    mrpc = data.locate()
    with tempfile.TemporaryDirectory() as scratch:
        model = Path(scratch) / "model"
        model.mkdir()
        (model / "config.json").write_text("{}")
        times: dict[str, list[float]] = {"sandbox": [], "unsafe": []}
        for i in range(args.repeat):
            times["sandbox"].append(one_run(False, model, mrpc, Path(scratch)))
            times["unsafe"].append(one_run(True, model, mrpc, Path(scratch)))
            print(f"run {i + 1}: sandbox {times['sandbox'][-1]:.3f} s, limits only {times['unsafe'][-1]:.3f} s")
    sandbox, unsafe = statistics.median(times["sandbox"]), statistics.median(times["unsafe"])
    print(f"median sandbox {sandbox:.3f} s, median limits only {unsafe:.3f} s, ratio {sandbox / unsafe:.2f}x (+{sandbox - unsafe:.3f} s)")


if __name__ == "__main__":
    main()
