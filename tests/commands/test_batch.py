"""Grading a class from a roster: concurrent slots, the class gradebook with every student, the
roster's columns and paths, resuming, and one real training per student in the slow case."""

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from grader import cli
from grader.commands import roster, slots
from grader.errors import CannotGrade
from tests import helpers
from tests.commands.batch_helpers import (
    EvaluatorWatch,
    attempts,
    batch_command,
    batch_env,
    carrying_any,
    gradebook,
    run_batch,
    students,
    submission,
    write_roster,
)
from tests.helpers import SUBMISSIONS, wait_for


def test_a_class_is_graded_and_summarised_and_a_missing_submission_is_reported(class_batch):
    """The class of conftest.py, graded by `grade batch` on one slot."""
    out = class_batch.out
    assert dict(class_batch.statuses)["batch"] == 1  # not every student passed
    names = ["Grace_Hopper", "Mallory", "alice", "bob", "ghost"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")) == names
    # the slot's evaluator loaded the base model once and evaluated both adapters; it ended with the batch
    by = [json.loads((out / name / "evidence" / "evidence.json").read_text())["evaluated_by"] for name in ("alice", "Grace_Hopper")]
    assert by[0] == by[1] and by[0].startswith("the grader's evaluator (process ")
    assert not Path(f"/proc/{by[0].split('process ')[1].split(',')[0]}").exists()
    assert (out / "alice" / "report.html").is_file() and (out / "bob" / "report.html").is_file()
    assert "does not exist" in (out / "ghost" / "error.txt").read_text()
    book = gradebook(class_batch.after_batch)
    assert list(book) == ["Mallory", "alice", "ghost", "bob", "Grace Hopper"]  # every roster student, in roster order
    assert book["ghost"]["status"] == "could not grade" and "does not exist" in book["ghost"]["problem"]
    assert float(book["alice"]["score"]) > float(book["bob"]["score"])
    assert json.loads((out / "Grace_Hopper" / "scored.json").read_text())["result"]["student"] == "Grace Hopper"
    summary = (class_batch.after_batch / "summary.html").read_text()
    assert "Grace Hopper" in summary and "does not exist" in summary and "alice/report-instructor.html" in summary  # for the instructor


def test_roster_problems_are_reported_by_line_before_anyone_is_graded(tmp_path):
    bad = write_roster(
        tmp_path / "r.csv", [("amy", "a", "1"), ("", "b", "2"), ("amy", "c", "3"), ("dan", "d")], ("student", "submission", "id")
    )
    with pytest.raises(CannotGrade) as caught:
        roster.read(bad)
    message = str(caught.value)
    assert "r.csv:3: empty student" in message and "r.csv:4: student 'amy' collides with line 2" in message
    assert "r.csv:5: 2 cells where the header has 3 columns" in message
    with pytest.raises(CannotGrade, match="r3.csv:1: column.s. score are the gradebook's own"):
        roster.read(write_roster(tmp_path / "r3.csv", [("x", "y", "1")], header=("student", "submission", "score")))
    with pytest.raises(CannotGrade, match="r2.csv:1: the header must name the columns student, submission"):
        roster.read(write_roster(tmp_path / "r2.csv", [("x", "y")], header=("name", "submission")))
    assert cli.main(["batch", str(bad), "--profile", "tiny", "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_roster_paths_are_relative_to_the_roster_and_its_own_columns_are_kept(tmp_path, monkeypatch):
    folder = tmp_path / "course"
    submission(folder / "work", "amy")
    path = write_roster(
        folder / "roster.csv",
        [
            ("Amy", "work/amy", "s1", "amy@uni.edu"),
            ("Remote", "https://example.org/r.git", "s2", "r@uni.edu"),
            ("Git", "git://example.org/g", "s3", "g@uni.edu"),
        ],
        ("student", "submission", "id", "email"),
    )
    monkeypatch.chdir(tmp_path)  # not the roster's folder
    entries, extra = roster.read(path)
    assert extra == ["id", "email"]
    assert entries[0].submission == str(folder / "work" / "amy") and entries[0].extra == {"id": "s1", "email": "amy@uni.edu"}
    assert entries[1].submission == "https://example.org/r.git"
    assert entries[2].submission == "git://example.org/g"  # every URL git fetches stays a URL


def test_slots_one_per_device_and_none_the_machine_lacks(tmp_path, monkeypatch):
    for name in ("davinci0", "davinci1", "davinci2", "davinci3"):
        (tmp_path / name).touch()
    monkeypatch.setenv("GRADER_DEVICE_ROOT", str(tmp_path))
    assert [s.device for s in slots.plan("ascend:0-2", None, None)] == ["ascend:0", "ascend:1", "ascend:2"]
    assert [s.device for s in slots.plan("npu", None, None)] == [f"ascend:{i}" for i in range(4)]  # every one present
    assert [s.device for s in slots.plan(None, 3, None)] == ["cpu", "cpu", "cpu"]
    with pytest.raises(CannotGrade, match="Ascend 6,7 requested but this machine has only 0,1,2,3"):
        slots.plan("ascend:6-7", None, None)
    with pytest.raises(CannotGrade, match="not both"):
        slots.plan("ascend:0", 2, None)


def test_two_slots_grade_at_once_and_the_gradebook_has_every_student(tmp_path):
    subs = tmp_path / "subs"
    for name in ("a", "b"):
        submission(subs, name, seconds=4)  # long enough to be seen running; the polling interval is 0.2 s
    path = write_roster(
        tmp_path / "roster.csv",
        [("A", "subs/a", "1"), ("B", "subs/b", "2"), ("Ghost", "subs/never-handed-in", "3")],
        ("student", "submission", "id"),
    )
    out = tmp_path / "class"
    marker = f"GRADER_TEST_BATCH={tmp_path}"
    watch = EvaluatorWatch(marker)
    watch.start()
    batch = subprocess.Popen(
        batch_command(path, out, "--jobs", "2"),
        env=batch_env() | dict([marker.split("=", 1)]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # both gradings in the gradebook as running at one moment: the two slots grade at once, however loaded the machine
        both = wait_for(
            lambda: {n: r["state"] for n, r in students(out).items() if n in ("A", "B")} == {"A": "running", "B": "running"},
            120,
            "A and B running at once",
        )
        stdout, stderr = batch.communicate(timeout=300)
    finally:
        batch.kill()
    done = subprocess.CompletedProcess(batch.args, batch.returncode, stdout, stderr)
    assert both and done.returncode == 1, done.stdout + done.stderr  # graded, not passed
    assert watch.stop() == set(), "a slot loaded the base model for runs that were short and saved no adapter"
    assert {students(out)[n]["slot"] for n in ("A", "B")} == {"cpu-1", "cpu-2"}
    for name in ("A", "B"):  # each run's root held its own slot's copy only, and nothing of the class's results
        isolation = json.loads((out / name / "evidence" / "evidence.json").read_text())["run"]["isolation"]
        hosts = [seen.split(" <- ")[1].split(" (")[0] for seen in isolation["visible"] if " <- " in seen]
        other = "cpu_2" if students(out)[name]["slot"] == "cpu-1" else "cpu_1"
        assert "allow-listed root" in isolation["sandbox"] and hosts
        assert not any(f"/{other}/" in host or host.endswith(f"/{other}") for host in hosts), hosts
        assert not any(host.startswith(str(out.resolve())) for host in hosts), hosts
    book = gradebook(out)
    assert [(n, r["id"], r["status"]) for n, r in book.items()] == [
        ("A", "1", "failed"),
        ("B", "2", "failed"),
        ("Ghost", "3", "could not grade"),
    ]
    assert book["A"]["score"] and not book["Ghost"]["score"] and "does not exist" in book["Ghost"]["problem"]
    assert "Ghost: could not grade" in done.stdout and "A: failed" in done.stdout  # one line per event off a terminal


def test_a_changed_rubric_rescores_without_training_and_regrade_forces(tmp_path):
    submission(tmp_path / "subs", "a")
    path = write_roster(tmp_path / "roster.csv", [("A", "subs/a")])
    out = tmp_path / "class"
    assert run_batch(path, out).returncode == 1
    first = students(out)["A"]
    rubric = tmp_path / "strict.yaml"
    text = (SUBMISSIONS.parent / "rubrics" / "default.yaml").read_text()
    rubric.write_text(text.replace("\nname: ", "\nname: Strict ", 1))
    again = run_batch(path, out, "--rubric", str(rubric))
    assert "re-scored with the current rubric" in again.stdout, again.stdout + again.stderr
    row = students(out)["A"]
    assert row["attempts"] == 1 and row["rubric"] != first["rubric"]  # judged again, not run again
    assert json.loads((out / "A" / "scored.json").read_text())["rubric"]["name"].startswith("Strict")
    forced = run_batch(path, out, "--rubric", str(rubric), "--regrade", "A")
    assert forced.returncode == 1 and students(out)["A"]["attempts"] == 2
    assert [a["outcome"] for a in attempts(out)] == ["graded", "graded"]
    assert run_batch(path, out, "--rubric", str(rubric)).returncode == 1 and students(out)["A"]["attempts"] == 2  # nothing left
    (tmp_path / "subs" / "a" / "notes.txt").write_text("handed in again")
    assert run_batch(path, out, "--rubric", str(rubric)).returncode == 1 and students(out)["A"]["attempts"] == 3  # changed: graded


def test_a_second_batch_into_the_same_folder_is_refused(tmp_path):
    submission(tmp_path / "subs", "a", seconds=30, until_flag=True)
    path = write_roster(tmp_path / "roster.csv", [("A", "subs/a")])
    out = tmp_path / "class"
    first = subprocess.Popen(batch_command(path, out), env=batch_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (students(out).get("A") or {}).get("state") == "running", 120, "the first batch to start grading A")
        second = run_batch(path, out)
        assert second.returncode == 2 and "another `grade batch` is grading into" in second.stderr
    finally:
        first.kill()
        first.wait(timeout=60)
    work_root = sqlite3.connect(out / "gradebook.sqlite").execute("SELECT value FROM meta WHERE key = 'work_root'").fetchone()[0]
    token = students(out)["A"]["token"]
    assert token and wait_for(lambda: carrying_any([token]) == [], 60, "the first batch's worker to end with its batch")
    shutil.rmtree(work_root, ignore_errors=True)


def test_each_slot_run_sees_only_its_own_device(tmp_path):
    devices = tmp_path / "dev"
    devices.mkdir()
    for name in ("davinci0", "davinci1", "davinci2"):
        (devices / name).touch()  # stand-in device files: no NPU here, and the runs never touch one
    subs = tmp_path / "subs"
    for name in ("a", "b", "c"):
        folder = subs / name
        folder.mkdir(parents=True)
        (folder / "train.py").write_text("import os, time\nprint('visible', os.environ.get('ASCEND_RT_VISIBLE_DEVICES'))\ntime.sleep(2)\n")
    path = write_roster(tmp_path / "roster.csv", [("A", "subs/a"), ("B", "subs/b"), ("C", "subs/c")])
    out = tmp_path / "class"
    env = {**batch_env(), "GRADER_DEVICE_ROOT": str(devices)}
    done = subprocess.run(batch_command(path, out, "--devices", "ascend:1-2"), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    seen = {}
    for name in ("A", "B", "C"):
        slot = students(out)[name]["slot"]
        visible = (out / name / "evidence" / "logs" / "stdout.txt").read_text().split()[1]
        seen[name] = (slot, visible)
    assert all(slot == f"ascend:{visible}" for slot, visible in seen.values()), seen  # its slot's device, and only that one
    assert {visible for _, visible in seen.values()} == {"1", "2"}  # both slots were used, device 0 never


def test_a_hostile_student_graded_first_does_not_touch_the_next_one(class_batch, graded):
    """The saboteur (first in the class of conftest.py) leaves a daemon that deletes adapters and
    rewrites results wherever it can reach for a minute; the sandbox ends it with its run, so the
    good student after it scores as when graded alone. Grading the same submission again (alone,
    then in a batch) gives the same verdicts and the same measurements."""
    out = class_batch.out
    alone = json.loads((graded["good"] / "results.json").read_text())
    after = json.loads((out / "alice" / "results.json").read_text())
    assert after["score"] == alone["score"] > 0
    statuses = {t["tags"][0]: t["extra_data"]["grader_status"] for t in after["tests"]}
    assert statuses["adapter_type"] == statuses["run"] == "passed"
    assert statuses == {t["tags"][0]: t["extra_data"]["grader_status"] for t in alone["tests"]}
    assert after["extra_data"]["validation_accuracy"] == alone["extra_data"]["validation_accuracy"]
    hidden = [helpers.Graded(0, folder).tests["test_metrics"]["extra_data"]["measured"] for folder in (graded["good"], out / "alice")]
    assert hidden[0] == hidden[1] and hidden[0]["test"]  # the held-out test split's measurements too
    mallory = json.loads((out / "Mallory" / "evidence" / "evidence.json").read_text())
    assert mallory["run"]["exit_code"] == 0 and "left a daemon behind" in (out / "Mallory" / "evidence" / "logs" / "stdout.txt").read_text()
    assert helpers.run_survivors(mallory["run"]["isolation"]) == []  # its daemon ended with it
