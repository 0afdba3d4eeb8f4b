"""Hostile submissions (submissions/hostile/*/ with an expect.toml) run through the real sandboxed
runner, as a grading runs them. Every effect is checked from the host: secrets never reach anything
the run wrote, files the run must not change are unchanged, no process of the run survives it, the
grader (this process) is alive and the budget held. What the scripts print is never trusted.

Each script reads targets.json in its folder: the host paths of what it attacks, as a student who
knew the machine would name them."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import sys
import time
import tomllib
from pathlib import Path

import pytest

from grader.course import profiles
from grader.intake import workspace
from grader.run import devices, execute, isolation, private_area
from tests import helpers
from tests.helpers import MRPC_DIR, SUBMISSIONS

HOSTILE = SUBMISSIONS / "hostile"
CASES = sorted(p.name for p in HOSTILE.iterdir() if (p / "expect.toml").is_file())


def case_param(case: str):
    """A case given a budget of its own runs until that budget ends (it waits it out), and one marked
    slow may run to the default one (a scan of the machine): both are slow."""
    expect = tomllib.loads((HOSTILE / case / "expect.toml").read_text())
    return pytest.param(case, marks=pytest.mark.slow) if "budget" in expect or expect.get("slow") else case


GRADER_DIR = Path(__file__).resolve().parents[2] / "grader"
SITE_PACKAGES = Path(next(p for p in sys.path if p.endswith("site-packages")))


def _digest(path: Path) -> str:
    """Names and contents of everything under `path` (a file or a folder)."""
    h = hashlib.sha256()
    for item in sorted([path, *path.rglob("*")] if path.is_dir() else [path]):
        h.update(str(item).encode())
        if item.is_file() and not item.is_symlink():
            h.update(item.read_bytes())
    return h.hexdigest()


@pytest.fixture
def stage(tmp_path):
    """Secrets and canaries on the host, outside anything the grader shows the run."""
    token = f"SECRET-{os.urandom(6).hex()}"
    elsewhere = tmp_path / "someone-elses-folder"
    elsewhere.mkdir()
    labelled = elsewhere / "test.jsonl"
    labelled.write_text(json.dumps({"sentence1": "a", "sentence2": "b", "label": 1, "note": token}) + "\n")
    other_run = Path(f"/tmp/grade-other-{os.urandom(4).hex()}")  # another student's private area
    (other_run / "work").mkdir(parents=True)
    (other_run / "work" / "notes.txt").write_text(token)
    earlier = tmp_path / "grade-results" / "classmate"
    earlier.mkdir(parents=True)
    (earlier / "results.json").write_text(json.dumps({"score": 15, "note": token}))
    data = tmp_path / "grader-data"  # the grader's data folder: its copy of the test split keeps the labels
    data.mkdir()
    for split in ("train", "validation", "test"):
        (data / f"{split}.jsonl").write_bytes((MRPC_DIR / f"{split}.jsonl").read_bytes())
    (data / "labels-kept.txt").write_text(token)
    model = tmp_path / "models" / "tiny"
    model.mkdir(parents=True)
    (model / "config.json").write_text('{"model_type": "roberta"}')
    (model / "model.safetensors").write_bytes(b"\x01" * 4096)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / "grader.sock"))
    server.listen(4)
    server.setblocking(False)
    tcp = socket.create_server(("127.0.0.1", 0))
    tcp.setblocking(False)
    targets = {
        "labelled": str(labelled),
        "other_run": str(other_run / "work" / "notes.txt"),
        "results": str(earlier / "results.json"),
        "evidence": str(tmp_path / "evidence"),
        "grader_code": str(GRADER_DIR / "pipeline.py"),
        "grader_dir": str(GRADER_DIR),
        "site_packages": str(SITE_PACKAGES),
        "model": str(model),
        "data": str(data),
        "grader_pid": os.getpid(),
        "unix_socket": str(tmp_path / "grader.sock"),
        "tcp_port": tcp.getsockname()[1],
    }
    watched = [labelled.parent, other_run, earlier, model, data, GRADER_DIR / "pipeline.py", GRADER_DIR / "run"]
    before = {str(p): _digest(p) for p in watched}
    site = sorted(os.listdir(SITE_PACKAGES))
    yield {"token": token, "targets": targets, "watched": watched, "before": before, "site": site, "servers": (server, tcp)}
    server.close()
    tcp.close()
    for item in sorted(other_run.rglob("*"), reverse=True):
        item.unlink() if item.is_file() else item.rmdir()
    other_run.rmdir()


def run_case(case: str, tmp_path: Path, targets: dict, expect: dict, python: str = sys.executable, how: isolation.Isolation | None = None):
    """Stage the hostile case with its targets and run it as a grading would, under the sandbox
    or the isolation `how` names: (the run's record, the bytes it left, its private area's size)."""
    folder = tmp_path / "submission"
    folder.mkdir()
    for item in (HOSTILE / case).iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    (folder / "targets.json").write_text(json.dumps(targets))
    profile = profiles.load("tiny")
    limits = dataclasses.replace(
        profile.sandbox,
        processes=expect.get("processes", 64),
        disk_gb=expect.get("disk_mb", 64) / 1024,
        file_gb=expect.get("disk_mb", 64) / 1024,
        memory_gb=expect.get("memory_gb", profile.sandbox.memory_gb),
    )
    profile = dataclasses.replace(profile, sandbox=limits)
    evidence = tmp_path / "evidence"
    budget = expect.get("budget", 20)
    request = execute.RunRequest(
        profile,
        Path(targets["model"]),
        Path(targets["data"]),
        devices.Device("cpu"),
        python,
        budget,
        evidence / "logs",
        evidence / "probe",
        *([how] if how else []),
    )
    with private_area.private_area("grade-", int(expect.get("disk_mb", 64) * 1024**2)) as private:
        ws = workspace.prepare(folder, private / "work")
        outcome = execute.run(ws, request, private)
        written = [p for p in [*private.rglob("*"), *evidence.rglob("*")] if p.is_file() and not p.is_symlink() and "data" not in p.parts]
        contents = b"".join(p.read_bytes()[: 1 << 22] for p in written if p.suffix != ".sock" and not p.is_socket())
        usage = sum(p.stat().st_size for p in private.rglob("*") if p.is_file() and not p.is_symlink())
    return outcome.record, contents, usage


@pytest.mark.parametrize("case", [case_param(case) for case in CASES])
def test_hostile_run_is_contained(case, tmp_path, stage, monkeypatch):
    expect = tomllib.loads((HOSTILE / case / "expect.toml").read_text())
    monkeypatch.setenv("GRADER_SECRET_FOR_TESTS", stage["token"])  # in the grader's environment, never the run's
    started = time.monotonic()
    record, written, usage = run_case(case, tmp_path, stage["targets"], expect)
    took = time.monotonic() - started
    assert record.isolation["sandbox"].startswith("bubblewrap"), record.isolation
    # nothing the run wrote holds a secret it was not shown
    assert stage["token"].encode() not in written, f"{case}: a secret reached the run's files or logs"
    # what it must not change is unchanged, now and after its leftovers had time to act
    time.sleep(expect.get("wait_after", 0))
    assert {str(p): _digest(p) for p in stage["watched"]} == stage["before"], f"{case}: changed something outside its private area"
    assert sorted(os.listdir(SITE_PACKAGES)) == stage["site"], f"{case}: dropped a file into the grader's site-packages"
    assert not Path(stage["targets"]["evidence"], "results.json").exists(), f"{case}: wrote the grader's results"
    for server in stage["servers"]:
        with pytest.raises(BlockingIOError):
            server.accept()  # no connection reached the grader's sockets
    # every process of the run is gone; the budget held, whatever the run did to the clock or the grader
    survivors = helpers.run_survivors(record.isolation)
    assert survivors == [], f"{case}: processes outlived the run: {[_stat(pid) for pid in survivors]}"
    timing = f"{case}: run {record.wall_seconds:.1f} s, whole call {took:.1f} s, budget {record.budget_seconds} s; {record}"
    assert record.wall_seconds <= record.budget_seconds + 2 * 5 + 10 and took < record.budget_seconds + 90, timing  # loaded-machine margins
    if "timed_out" in expect:
        assert record.timed_out == expect["timed_out"], (case, record)
    if "truncated" in expect:
        assert record.output_truncated == expect["truncated"], (case, record)
        assert all(Path(p).stat().st_size < record_cap(record) for p in (record.stdout_path, record.stderr_path))
    if "disk_mb" in expect:
        assert usage <= expect["disk_mb"] * 1024**2 + 1024**2, f"{case}: wrote {usage:,} bytes"


def _stat(pid: int) -> str:
    """A surviving process as /proc shows it (its state is the third field), for the failure message."""
    try:
        return Path(f"/proc/{pid}/stat").read_text()[:120]
    except OSError:
        return f"{pid}: gone by now"


def record_cap(record) -> int:
    return 20 * 1024**2 + 200
