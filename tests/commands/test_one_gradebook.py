"""One class, one record: a submission the grader could not get is "could not grade" with the
reason and is tried again by the next batch; `grade rescore` writes its scores into the batch's
gradebook.sqlite and `grade summary` keeps the roster's columns; a killed batch leaves no grading
behind; the time-left estimate follows the clock."""

import csv
import glob
import io
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

from rich.console import Console

from grader.commands import ledger
from grader.commands.attempt import Outcome
from grader.commands.batch_progress import Display
from grader.run import runner
from tests.commands.batch_helpers import (
    attempts,
    batch_command,
    batch_env,
    carrying_any,
    run_batch,
    students,
    submission,
    write_roster,
)
from tests.helpers import as_from_a_terminal, wait_for

HEADER = ("student", "submission", "student_id")


def closed_port() -> int:
    """A local TCP port nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_csv(path: Path) -> tuple[list[str], dict[str, dict]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), {row["student"]: row for row in reader}


def shell_glob(out: Path) -> list[str]:
    """What a shell makes of `class/*`: every name but the hidden ones."""
    return sorted(glob.glob(str(out / "*")))


def grade_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], env=batch_env(), capture_output=True, text=True, timeout=300)


def unsafe_zip(path: Path) -> Path:
    """A student's zip with an entry that climbs out of its folder: the submission's own problem."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train.py", "print('hi')\n")
        archive.writestr("../escape.py", "print('out')\n")
    return path


UNREACHABLE = {
    "Refused": ("https://127.0.0.1:9/nothing.git", "could not clone https://127.0.0.1:9/nothing.git"),
    "Closed": (f"git://127.0.0.1:{closed_port()}/x.git", "could not clone git://127.0.0.1:"),
    "Helper": ("ext::sh -c touch% /tmp/one-gradebook-pwned", "is refused: ext:: addresses run a program"),
    "Missing": ("subs/never-handed-in", "does not exist"),
}


def test_a_submission_the_grader_cannot_get_is_could_not_grade_with_the_reason_and_retried(tmp_path):
    submission(tmp_path / "subs", "ada")
    unsafe_zip(tmp_path / "subs" / "zippy.zip")
    rows = [("Ada", "subs/ada", "s1"), ("Zippy", "subs/zippy.zip", "s2")]
    rows += [(name, address, f"id-{name}") for name, (address, _) in UNREACHABLE.items()]
    path = write_roster(tmp_path / "roster.csv", rows, HEADER)
    out = tmp_path / "class"
    first = run_batch(path, out, "--jobs", "2")
    assert first.returncode == 1, first.stdout + first.stderr  # graded, not all passed: never a grader error
    book = students(out)
    columns, csv_rows = read_csv(out / "gradebook.csv")
    assert "student_id" in columns
    assert book["Ada"]["state"] == "graded" and book["Zippy"]["state"] == "graded"  # the unsafe zip is the submission's own
    assert csv_rows["Zippy"]["status"] == "failed" and "submission refused" in (out / "Zippy" / "results.json").read_text()
    for name, (_, why) in UNREACHABLE.items():
        assert book[name]["state"] == "could not grade" and why in book[name]["problem"], (name, book[name])
        assert book[name]["score"] is None and why in (out / name / "error.txt").read_text()
        assert csv_rows[name]["status"] == "could not grade" and why in csv_rows[name]["problem"], csv_rows[name]
        assert csv_rows[name]["student_id"] == f"id-{name}" and csv_rows[name]["score"] == ""  # the row stays, with the reason
        assert not (out / name / "scored.json").exists()
    assert not Path("/tmp/one-gradebook-pwned").exists()

    submission(tmp_path / "subs", "never-handed-in")  # handed in late: the next run grades it
    second = run_batch(path, out, "--jobs", "2")
    assert "6 students: 4 to grade" in second.stdout, second.stdout
    tries = Counter(a["folder"] for a in attempts(out))
    assert tries == {"Ada": 1, "Zippy": 1, "Refused": 2, "Closed": 2, "Helper": 2, "Missing": 2}
    book = students(out)
    assert book["Missing"]["state"] == "graded" and not (out / "Missing" / "error.txt").exists()
    assert read_csv(out / "gradebook.csv")[1]["Missing"]["status"] == "failed"
    assert book["Refused"]["state"] == "could not grade" and (out / "Refused" / "error.txt").is_file()


def test_a_refused_address_given_to_grade_is_could_not_grade_with_the_reason(tmp_path):
    done = grade_cli("ext::sh -c touch% /tmp/one-gradebook-pwned", "--profile", "tiny", "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "cannot grade: the address ext::sh -c touch% /tmp/one-gradebook-pwned is refused" in done.stderr
    assert not (tmp_path / "out" / "scored.json").exists() and not Path("/tmp/one-gradebook-pwned").exists()


STRICT = "name: strict\ncriteria:\n  - {check: run, points: 1}\n"


def test_rescore_updates_the_class_gradebook_and_summary_keeps_the_roster_columns(tmp_path):
    submission(tmp_path / "subs", "ada")
    (tmp_path / "subs" / "bob").mkdir(parents=True)
    (tmp_path / "subs" / "bob" / "train.py").write_text("raise SystemExit(3)\n")
    path = write_roster(tmp_path / "roster.csv", [("Ada", "subs/ada", "s1"), ("Bob", "subs/bob", "s2")], HEADER)
    out = tmp_path / "class"
    assert run_batch(path, out).returncode == 1
    before = students(out)
    batch_columns, _ = read_csv(out / "gradebook.csv")
    rubric = tmp_path / "strict.yaml"
    rubric.write_text(STRICT)

    rescored = grade_cli("rescore", *shell_glob(out), "--rubric", str(rubric))  # a shell's class/*
    assert rescored.returncode in (0, 1), rescored.stdout + rescored.stderr
    after = students(out)
    for name in ("Ada", "Bob"):
        scored = json.loads((out / name / "scored.json").read_text())
        assert scored["rubric"]["name"] == "strict" and scored["max_score"] == 1
        row = after[name]
        assert (row["score"], row["max_score"], row["verdict"]) == (scored["score"], scored["max_score"], scored["verdict"])
        assert row["rubric"] != before[name]["rubric"] and row["attempts"] == 1

    summarised = grade_cli("summary", *shell_glob(out), "--out", str(out))  # the README's step
    assert summarised.returncode == 0, summarised.stderr
    columns, rows = read_csv(out / "gradebook.csv")
    assert columns[:5] == batch_columns[:5] == ["student", "folder", "student_id", "status", "problem"]
    assert (rows["Ada"]["student_id"], rows["Bob"]["student_id"]) == ("s1", "s2")
    assert rows["Ada"]["rubric"] == "strict" and rows["Ada"]["max_score"] == "1"
    summary_book = (out / "gradebook.csv").read_text()

    again = run_batch(path, out, "--rubric", str(rubric))  # the same rubric: nothing to grade or re-score
    assert "re-scored" not in again.stdout and "0 to grade" in again.stdout and "2 kept" in again.stdout, again.stdout
    assert (out / "gradebook.csv").read_text() == summary_book  # the batch and the summary write one gradebook
    assert [a["attempt"] for a in attempts(out)] == [1, 1]
    back = run_batch(path, out)  # the default rubric again: re-scored from evidence, said so
    assert back.stdout.count("re-scored with the current rubric") == 2 and students(out)["Ada"]["rubric"] == before["Ada"]["rubric"]


def test_rescore_waits_for_no_batch_it_refuses_while_one_grades_the_class(tmp_path):
    submission(tmp_path / "subs", "ada")
    submission(tmp_path / "subs", "slow", seconds=120)
    path = write_roster(tmp_path / "roster.csv", [("Ada", "subs/ada", "s1"), ("Slow", "subs/slow", "s2")], HEADER)
    out = tmp_path / "class"
    batch = subprocess.Popen(
        batch_command(path, out), env=batch_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=as_from_a_terminal
    )
    try:
        wait_for(lambda: students(out).get("Slow", {}).get("state") == "running", 120, "the batch to grade Slow")
        (tmp_path / "strict.yaml").write_text(STRICT)
        done = grade_cli("rescore", str(out / "Ada"), "--rubric", str(tmp_path / "strict.yaml"))
        assert done.returncode == 2 and "another `grade batch` is grading into" in done.stderr, done.stderr
        assert json.loads((out / "Ada" / "scored.json").read_text())["rubric"]["name"] != "strict"
    finally:
        batch.send_signal(signal.SIGINT)  # Ctrl-C: Slow is stopped, the class resumable
        batch.wait(timeout=120)


def test_a_batch_killed_with_sigkill_leaves_no_grading_running_past_a_moment(tmp_path):
    """The worker learns of its batch's death (parent-death signal) and kills the student's run at
    once instead of giving it the grace a stopped run gets (GRACE_SECONDS, 5 s); measured: 5.1 s
    before, 0.1-0.2 s after, on an idle machine."""
    submission(tmp_path / "subs", "slow", seconds=120)
    path = write_roster(tmp_path / "roster.csv", [("Slow", "subs/slow")])
    out = tmp_path / "class"
    batch = subprocess.Popen(
        batch_command(path, out), env=batch_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=as_from_a_terminal
    )
    try:
        row = wait_for(lambda: (r := students(out).get("Slow", {})).get("state") == "running" and r["token"] and r, 120, "Slow to run")
        printed = out / "Slow" / "evidence" / "logs" / "stdout.txt"
        wait_for(lambda: printed.is_file() and "began" in printed.read_text(), 60, "the student's program to run")
        killed = time.monotonic()
        batch.send_signal(signal.SIGKILL)
        batch.wait()
        wait_for(lambda: not carrying_any([row["token"]]), 60, "the attempt's processes to end", poll=0.05)
        lingered = time.monotonic() - killed
    finally:
        batch.kill()
        batch.wait()
    assert lingered < runner.GRACE_SECONDS - 1.0, f"the attempt's processes lived {lingered:.1f} s after the batch was killed"
    work = Path(row["work"])
    assert wait_for(lambda: not any(work.rglob("*")), 60, "the private copy to go")  # the worker removed it before it ended
    shutil.rmtree(work.parent.parent)  # the batch's work folder: the next batch would have removed it


def test_the_time_left_counts_down_while_students_run(tmp_path):
    now = [0.0]
    shown = io.StringIO()
    display = Display(Console(file=shown, width=200), Counter({ledger.QUEUED: 4}), ["s1", "s2"], None, clock=lambda: now[0])
    display.started("A", "s1")
    now[0] = 30.0
    display.started("B", "s2")
    now[0] = 60.0
    display.finished("A", "s1", Outcome(ledger.GRADED, score=1, max_score=1, verdict="passed"))  # a grading takes 60 s
    display.started("C", "s1")
    assert display.estimate() == 90.0  # B ends in 30 s, then D takes 60 on its slot; C ends at 60
    now[0] = 80.0
    assert display.estimate() == 70.0  # 20 s later: 20 s less
    now[0] = 100.0
    display.finished("B", "s2", Outcome(ledger.GRADED, score=1, max_score=1, verdict="passed"))  # 70 s: the mean is 65
    display.started("D", "s2")
    assert display.estimate() == 65.0 and "about 1:05 left" in shown.getvalue().splitlines()[-1]
    now[0] = 125.0
    assert display.estimate() == 40.0
    display.finished("C", "s1", Outcome(ledger.GRADED, score=1, max_score=1, verdict="passed"))
    display.finished("D", "s2", Outcome(ledger.GRADED, score=1, max_score=1, verdict="passed"))
    assert display.estimate() is None  # nothing left
