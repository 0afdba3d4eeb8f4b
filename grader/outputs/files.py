"""Every file written for one graded submission and for a class, named in one place; each
output is a serialiser of the same ScoredResult.

Student-facing: report.html, classroom-result.txt (GitHub Classroom), junit.xml; they hold only
what the rubric releases to students. results.json is read by Gradescope, which enforces each
test's `visibility` itself. Instructor-only: report-instructor.html, gradebook.csv, scored.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from grader.outputs import classroom, gradebook, gradescope, junit, report, store
from grader.scoring.score import ScoredResult

RESULTS, REPORT, INSTRUCTOR_REPORT = "results.json", "report.html", "report-instructor.html"
CLASSROOM, JUNIT, GRADEBOOK, SCORED = "classroom-result.txt", "junit.xml", "gradebook.csv", store.FILE
EVIDENCE_DIR = "evidence"  # the run's evidence, inside a student's output folder
ERROR_FILE = "error.txt"  # a batch's reason for not grading a student
SUMMARY = "summary.html"  # the class summary, beside the class gradebook.csv
FILES = (RESULTS, REPORT, INSTRUCTOR_REPORT, CLASSROOM, JUNIT, GRADEBOOK, SCORED)


def write_all(scored: ScoredResult, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {
        RESULTS: gradescope.write(scored, out_dir / RESULTS),
        REPORT: _text(out_dir / REPORT, report.render(scored, "student")),
        INSTRUCTOR_REPORT: _text(out_dir / INSTRUCTOR_REPORT, report.render(scored, "instructor")),
        CLASSROOM: _text(out_dir / CLASSROOM, classroom.encode(scored) + "\n"),
        JUNIT: junit.write(scored, out_dir / JUNIT),
        GRADEBOOK: gradebook.write([scored], out_dir / GRADEBOOK),
        SCORED: store.save(scored, out_dir),
    }
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:  # as a Classroom runner step: the reporter reads steps.<id>.outputs.result
        with open(github_output, "a", encoding="utf-8") as handle:
            handle.write(f"result={classroom.encode(scored)}\n")
    return written


def write_not_graded(out_dir: Path, reason: str) -> Path:
    """results.json for a submission the grader failed on: says so instead of leaving nothing
    (or an old result) for Gradescope or a CI step to read."""
    out_dir.mkdir(parents=True, exist_ok=True)
    message = f"The grader could not grade this submission because of an error of its own, not of the submission: {reason}"
    return _text(
        out_dir / RESULTS,
        json.dumps({"score": 0, "output": message, "tests": [], "extra_data": {"gradable": False, "error": reason}}, indent=2) + "\n",
    )


def _text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
