"""A batch killed with SIGKILL mid-class, then the same command again: every student ends with
exactly one result, the finished one is not graded again, no process of the killed batch
outlives it, and no private copy is left behind."""

import os
import signal
import subprocess
from pathlib import Path

from tests.commands.batch_helpers import (
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
from tests.helpers import as_from_a_terminal, wait_for


def test_kill_9_then_the_same_command_resumes(tmp_path):
    subs = tmp_path / "subs"
    submission(subs, "quick")
    slow = submission(subs, "slow", seconds=300, until_flag=True)  # runs until `fast` is in its copy
    roster = write_roster(tmp_path / "roster.csv", [("Quick", "subs/quick"), ("Slow", "subs/slow"), ("Later", "subs/quick")])
    out = tmp_path / "class"
    first = subprocess.Popen(
        batch_command(roster, out, "--jobs", "1"), env=batch_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: (out / "Quick" / "scored.json").is_file(), 120, "the first result")
        running = wait_for(
            lambda: (r := students(out).get("Slow", {})).get("state") == "running" and r["pid"] and r, 60, "the second student to run"
        )
        token, work = running["token"], Path(running["work"])
        wait_for(lambda: len(carrying_any([token])) >= 2, 60, "the student's run to start")  # the worker and the run
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.wait()
    assert students(out)["Slow"]["state"] == "running"  # as the killed batch left it
    finished_before = (out / "Quick" / "scored.json").stat().st_mtime_ns

    (slow / "fast").touch()  # the next attempt's copy finishes at once
    done = run_batch(roster, out, "--jobs", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "an earlier batch was stopped while grading Slow" in done.stdout

    rows = students(out)
    assert {name: (r["state"], r["attempts"]) for name, r in rows.items()} == {
        "Quick": ("graded", 1),
        "Slow": ("graded", 2),
        "Later": ("graded", 1),
    }
    assert (out / "Quick" / "scored.json").stat().st_mtime_ns == finished_before  # not graded again
    assert sorted((a["folder"], a["attempt"], a["outcome"]) for a in attempts(out)) == [
        ("Later", 1, "graded"),
        ("Quick", 1, "graded"),
        ("Slow", 1, "interrupted"),
        ("Slow", 2, "graded"),
    ]
    for name in ("Quick", "Slow", "Later"):  # exactly one result each
        assert sorted(p.name for p in (out / name).iterdir() if p.suffix in (".json", ".txt")) == [
            "classroom-result.txt",
            "results.json",
            "scored.json",
        ]
    assert not carrying_any([a["token"] for a in attempts(out)])  # no process of any attempt is alive
    assert not work.exists() and not work.parent.exists()  # private copies and the work folder are gone
    assert not [p for p in out.rglob("*.tmp")]
    assert os.listdir(out / ".batch-logs")


def test_ctrl_c_stops_the_running_student_and_says_how_to_resume(tmp_path):
    submission(tmp_path / "subs", "slow", seconds=300, until_flag=True)
    roster = write_roster(tmp_path / "roster.csv", [("Slow", "subs/slow"), ("Next", "subs/slow")])
    out = tmp_path / "class"
    batch = subprocess.Popen(
        batch_command(roster, out),
        env=batch_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,
    )
    try:
        token = wait_for(lambda: (r := students(out).get("Slow", {})).get("state") == "running" and r["token"], 120, "the student to run")
        wait_for(lambda: len(carrying_any([token])) >= 2, 60, "the student's run to start")
        batch.send_signal(signal.SIGINT)
        stdout, stderr = batch.communicate(timeout=60)
    finally:
        batch.kill()
    assert batch.returncode == 130 and "run the same command again to resume" in stdout, stdout + stderr
    rows = students(out)
    assert (rows["Slow"]["state"], rows["Next"]["state"]) == ("interrupted", "queued")
    assert not carrying_any([token])
    book = gradebook(out)
    assert book["Slow"]["status"] == "not graded" and book["Next"]["status"] == "not graded"
