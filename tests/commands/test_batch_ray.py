"""The Ray executor against a local Ray instance started here, with a custom resource standing in
for NPUs: one actor per stand-in NPU grading one student at a time through its own evaluator,
results in the same gradebook, resumable."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.commands.ray_executor import task_resources
from tests.commands.batch_helpers import (
    adapter_saver,
    attempts,
    batch_command,
    batch_env,
    carrying,
    carrying_any,
    gradebook,
    run_batch,
    students,
    submission,
    write_roster,
)
from tests.helpers import ROOT, as_from_a_terminal, wait_for

RAY = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")


@pytest.fixture(scope="module")
def cluster():
    """One local Ray instance for this module's tests (each batch's actors end with it), with 2
    CPUs and 2 stand-in NPUs, started as the README starts one (`ray start --head`), in processes
    of its own: importing ray here would load its protobuf into this test process before
    MindSpore's, which then cannot load its own. Its workers import this checkout."""
    assert RAY is not None, "ray is in requirements-cluster.lock, which install.sh installs: run it to test the Ray executor"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scratch = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's Unix socket paths must fit in 107 bytes
    # Every process of this cluster inherits the marker, and only those: teardown ends them and no
    # other Ray instance on the machine (`ray stop` would end them all).
    marker = f"GRADER_TEST_RAY_CLUSTER={scratch}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}  # a local test cluster
    env["GRADER_TEST_RAY_CLUSTER"] = scratch
    start = [RAY, "start", "--head", f"--port={port}", "--num-cpus=2", '--resources={"NPU": 2}', "--include-dashboard=false"]
    try:
        started = subprocess.run([*start, f"--temp-dir={scratch}"], env=env, capture_output=True, text=True, timeout=180)
        assert started.returncode == 0, started.stdout + started.stderr
        yield f"127.0.0.1:{port}"
    finally:
        for pid in carrying(marker):
            _signal(pid, signal.SIGTERM)
        if not _gone_within(marker, 10):  # some of Ray's processes outlast SIGTERM
            for pid in carrying(marker):
                _signal(pid, signal.SIGKILL)
        assert _gone_within(marker, 60), f"the test's Ray cluster left processes: {carrying(marker)}"
        shutil.rmtree(scratch, ignore_errors=True)


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def _gone_within(marker: str, seconds: float) -> bool:
    try:
        return wait_for(lambda: carrying(marker) == [], seconds, "the cluster's processes to end")
    except AssertionError:
        return False


@pytest.mark.e2e_rare
def test_ray_executor_grades_on_one_actor_per_npu_each_with_its_evaluator(tmp_path, cluster):
    subs = tmp_path / "subs"
    for name in ("a", "b", "c"):
        adapter_saver(subs, name)
    path = write_roster(tmp_path / "roster.csv", [("A", "subs/a"), ("B", "subs/b"), ("C", "subs/c"), ("Ghost", "subs/none")])
    out = tmp_path / "class"
    done = run_batch(path, out, "--executor", "ray", "--address", cluster, "--ray-resource", "NPU")
    assert done.returncode == 1, done.stdout + done.stderr
    rows = students(out)
    assert {n: r["state"] for n, r in rows.items()} == {"A": "graded", "B": "graded", "C": "graded", "Ghost": "could not grade"}
    assert all(r["slot"].startswith("ray ") for r in rows.values())
    for name in ("A", "B", "C"):  # the task's folder came back whole
        assert (out / name / "scored.json").is_file() and (out / name / "evidence" / "logs" / "stdout.txt").is_file()
    spans = sorted((a["started_at"], a["finished_at"]) for a in attempts(out))
    most = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert 1 <= most <= 2  # never more at once than the cluster has NPUs (that both were used is asserted below, not timed)
    # each actor evaluated its students through one evaluator (base model loaded once per NPU): two
    # evaluators for three students, so one of them evaluated two adapters
    by = [json.loads((out / name / "evidence" / "evidence.json").read_text())["evaluated_by"] for name in ("A", "B", "C")]
    assert all(b.startswith("the grader's evaluator (process ") for b in by), by
    assert len(set(by)) == 2, by
    assert gradebook(out)["Ghost"]["status"] == "could not grade"
    again = run_batch(path, out, "--executor", "ray", "--address", cluster, "--ray-resource", "NPU")
    # a resumed batch keeps the graded and tries the could-not-grade again
    assert "1 to grade" in again.stdout and "3 kept" in again.stdout, again.stdout
    assert {n: r["attempts"] for n, r in students(out).items()} == {"A": 1, "B": 1, "C": 1, "Ghost": 2}


def test_tasks_ask_for_one_device_of_the_slots_kind():
    assert task_resources("ascend") == ("NPU", {"resources": {"NPU": 1}, "num_cpus": 1})
    assert task_resources("gpu") == ("GPU", {"num_gpus": 1, "num_cpus": 1})
    assert task_resources("cpu") == ("CPU", {"num_cpus": 1})
    assert task_resources("cpu", "NPU") == ("NPU", {"resources": {"NPU": 1}, "num_cpus": 1})


def _actor_grading(student: str) -> int | None:
    """The pid of the Ray actor whose grading worker is grading `student` (the worker's parent)."""
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if b"grader.commands.worker" in command and f'"student": "{student}"'.encode() in b" ".join(command):
                return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    return None


@pytest.mark.e2e_rare
def test_an_actor_that_dies_costs_only_its_student_and_is_replaced(tmp_path, cluster):
    subs = tmp_path / "subs"
    submission(subs, "long", seconds=120)
    for name in ("b", "c", "d"):
        submission(subs, name, seconds=1)
    path = write_roster(tmp_path / "roster.csv", [("Long", "subs/long"), ("B", "subs/b"), ("C", "subs/c"), ("D", "subs/d")])
    out = tmp_path / "class"
    batch = subprocess.Popen(batch_command(path, out, "--executor", "ray", "--address", cluster, "--ray-resource", "NPU"), env=batch_env())
    try:
        actor = wait_for(lambda: _actor_grading("Long"), 120, "the long student's grading to start")
        os.kill(actor, signal.SIGKILL)  # its node lost, as far as the batch can tell
        assert batch.wait(timeout=240) == 1
    finally:
        batch.kill()
    rows = students(out)
    assert rows["Long"]["state"] == "could not grade" and "Ray actor failed" in rows["Long"]["problem"], rows["Long"]
    assert {n: rows[n]["state"] for n in ("B", "C", "D")} == {"B": "graded", "C": "graded", "D": "graded"}
    # the dead actor's grading worker saw its parent go, ended the run and left nothing running
    tokens = [a["token"] for a in attempts(out) if a["folder"] == rows["Long"]["folder"]]
    assert tokens and wait_for(lambda: carrying_any(tokens) == [], 30, "the dead actor's grading to leave no process")


@pytest.mark.e2e_rare
def test_ctrl_c_ends_the_running_actors_gradings_and_the_batch_resumes(tmp_path, cluster):
    subs = tmp_path / "subs"
    submission(subs, "long", seconds=120)
    submission(subs, "b", seconds=1)
    path = write_roster(tmp_path / "roster.csv", [("Long", "subs/long"), ("B", "subs/b")])
    out = tmp_path / "class"
    command = batch_command(path, out, "--executor", "ray", "--address", cluster, "--ray-resource", "NPU")
    batch = subprocess.Popen(
        command, env=batch_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=as_from_a_terminal
    )
    try:
        # B graded on one actor while Long's grading runs on the other (which may start after B ends)
        wait_for(lambda: (students(out).get("B") or {}).get("state") == "graded" and _actor_grading("Long"), 120, "B graded, Long grading")
        batch.send_signal(signal.SIGINT)
        stdout, stderr = batch.communicate(timeout=120)
    finally:
        batch.kill()
    assert batch.returncode == 130 and "run the same command again to resume" in stdout, stdout + stderr
    rows = students(out)
    assert (rows["Long"]["state"], rows["B"]["state"]) == ("interrupted", "graded")
    tokens = [a["token"] for a in attempts(out) if a["folder"] == rows["Long"]["folder"]]
    assert tokens and wait_for(lambda: carrying_any(tokens) == [], 30, "the stopped grading to leave no process")
    (subs / "long" / "train.py").write_text("print('handed in again')\n")
    again = run_batch(path, out, "--executor", "ray", "--address", cluster, "--ray-resource", "NPU")
    assert "1 to grade" in again.stdout, again.stdout + again.stderr
    assert students(out)["Long"]["state"] == "graded" and students(out)["B"]["attempts"] == 1
