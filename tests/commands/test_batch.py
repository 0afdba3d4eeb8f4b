"""Grading a class from a roster: real training per student, one bad row never stops the rest."""

import csv
import json

import pytest

from grader import cli
from grader.commands import batch
from grader.errors import CannotGrade
from tests import helpers
from tests.helpers import SUBMISSIONS


def write_roster(path, rows, header=("student", "submission")):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.mark.slow
def test_a_class_is_graded_and_summarised_and_a_missing_submission_is_reported(tmp_path):
    roster = write_roster(
        tmp_path / "roster.csv",
        [
            ("Ada Lovelace", str(SUBMISSIONS / "good")),
            ("ghost", str(tmp_path / "never-handed-in")),
            ("Bob", str(SUBMISSIONS / "crash")),
        ],
    )
    out = tmp_path / "class"
    code = cli.main(["batch", str(roster), "--profile", "tiny", "--out", str(out)])
    assert code == 1  # not every student passed
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["Ada_Lovelace", "Bob", "ghost"]
    assert (out / "Ada_Lovelace" / "report.html").is_file() and (out / "Bob" / "report.html").is_file()
    assert "does not exist" in (out / "ghost" / "error.txt").read_text()
    with (out / "gradebook.csv").open() as handle:
        book = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(book) == {"Ada Lovelace", "Bob"}
    assert float(book["Ada Lovelace"]["score"]) > float(book["Bob"]["score"])
    summary = (out / "summary.html").read_text()
    assert (
        "Ada Lovelace" in summary and "does not exist" in summary and "Ada_Lovelace/report-instructor.html" in summary
    )  # the summary is for the instructor


def test_roster_problems_are_reported_by_line_before_anyone_is_graded(tmp_path):
    roster = write_roster(tmp_path / "r.csv", [("amy", "a"), ("", "b"), ("amy", "c")])
    with pytest.raises(CannotGrade) as caught:
        batch.read_roster(roster)
    assert "r.csv:3: empty student" in str(caught.value) and "r.csv:4: student 'amy' collides with line 2" in str(caught.value)
    with pytest.raises(CannotGrade, match="r2.csv:1: the header must name the columns student, submission"):
        batch.read_roster(write_roster(tmp_path / "r2.csv", [("x", "y")], header=("name", "submission")))
    assert cli.main(["batch", str(roster), "--profile", "tiny", "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_a_hostile_student_graded_first_does_not_touch_the_next_one(tmp_path, graded):
    """The saboteur leaves a daemon that deletes adapters and rewrites results wherever it can
    reach for a minute; the sandbox ends it with its run, so the good student after it scores as
    when graded alone."""
    roster = write_roster(
        tmp_path / "roster.csv", [("Mallory", str(SUBMISSIONS / "hostile" / "saboteur")), ("Ada", str(SUBMISSIONS / "good"))]
    )
    out = tmp_path / "class"
    assert cli.main(["batch", str(roster), "--profile", "tiny", "--out", str(out)]) == 1
    alone = json.loads((graded["good"] / "results.json").read_text())
    after = json.loads((out / "Ada" / "results.json").read_text())
    assert after["score"] == alone["score"] > 0
    statuses = {t["tags"][0]: t["extra_data"]["grader_status"] for t in after["tests"]}
    assert statuses["adapter_type"] == statuses["run"] == "passed"
    mallory = json.loads((out / "Mallory" / "evidence" / "evidence.json").read_text())
    assert mallory["run"]["exit_code"] == 0 and helpers.run_survivors(mallory["run"]["isolation"]) == []  # its daemon ended with it
