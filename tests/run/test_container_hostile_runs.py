"""Every hostile submission (submissions/hostile/*/) run with container isolation, as Gradescope's
container grades it when bubblewrap is refused: no sandbox, the limits, and the run as a uid of
its own. The effects are checked from the host as in test_hostile_runs.py, for what container
isolation promises (docs/threat-model-container.part.md): what the grader keeps is unchanged,
nothing root's only reaches the run's files, no process of the run's uid survives, the budget
holds. The network and the machine's world-writable folders are not isolated in this mode: those
cases are left to the sandbox's test."""

from __future__ import annotations

import os
import sys
import time
import tomllib
from pathlib import Path

import pytest

from grader.run import isolation
from tests import helpers
from tests.run.test_hostile_runs import CASES, GRADER_DIR, HOSTILE, SITE_PACKAGES, _digest, case_param, run_case, stage  # noqa: F401 (a fixture)

# the run's interpreter must be one its uid may start again (scripts re-run sys.executable): a venv
# made from a Python kept under a folder closed to others (pyenv under /root) is not
RUN_PYTHON = next((p for p in ("/usr/bin/python3.11", "/usr/bin/python3") if os.access(p, os.X_OK)), sys.executable)
NOT_PROMISED = {
    "network": "container isolation leaves the network to the container (threat model)",
    # what a run writes into the machine's world-writable folders is bounded only by the container's
    # disk, which is thrown away after the submission; run here, it would fill the test machine's
    "fill-disk": "container isolation leaves /tmp and /dev/shm to the disposable container (threat model)",
}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="container isolation starts the run as a uid of its own only as root")


@pytest.mark.parametrize("case", [case_param(c) for c in CASES if c not in NOT_PROMISED])
def test_hostile_run_is_contained_by_the_container_isolation(case, tmp_path, stage, monkeypatch):  # noqa: F811 (the fixture)
    expect = tomllib.loads((HOSTILE / case / "expect.toml").read_text())
    monkeypatch.setenv("GRADER_SECRET_FOR_TESTS", stage["token"])  # in the grader's environment (root's), never the run's
    Path(stage["targets"]["other_run"]).parents[1].chmod(0o700)  # another grading's private area, as mkdtemp makes it
    started = time.monotonic()
    how = isolation.Isolation(isolation.CONTAINER, "a disposable container (test)")
    record, written, _ = run_case(case, tmp_path, stage["targets"], expect, RUN_PYTHON, how)
    took = time.monotonic() - started
    assert record.isolation["mode"] == isolation.CONTAINER and "host uid" in record.isolation["run_user"], record.isolation
    assert stage["token"].encode() not in written, f"{case}: a secret reached the run's files or logs"
    time.sleep(expect.get("wait_after", 0))  # what a leftover would have done by now
    assert {str(p): _digest(p) for p in stage["watched"]} == stage["before"], f"{case}: changed something outside its private area"
    assert sorted(os.listdir(SITE_PACKAGES)) == stage["site"], f"{case}: dropped a file into the grader's site-packages"
    assert not (GRADER_DIR / "planted.py").exists(), f"{case}: wrote into the grader's package"
    assert not Path(stage["targets"]["evidence"], "results.json").exists(), f"{case}: wrote the grader's results"
    assert helpers.run_survivors(record.isolation) == [], f"{case}: processes of the run's uid outlived it"
    timing = f"{case}: run {record.wall_seconds:.1f} s, whole call {took:.1f} s, budget {record.budget_seconds} s; {record}"
    assert record.wall_seconds <= record.budget_seconds + 2 * 5 + 3 and took < record.budget_seconds + 40, timing
    if "timed_out" in expect:
        assert record.timed_out == expect["timed_out"], (case, record)
