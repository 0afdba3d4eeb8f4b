"""Every file written for one graded submission and for a class, named in one place; each
output is a serialiser of the same ScoredResult.

Student-facing: report.html, classroom-result.txt (GitHub Classroom runners, `id=base64` lines),
result.md (the Markdown summary a CI step appends to $GITHUB_STEP_SUMMARY), junit.xml; they hold only
what the rubric releases to students. results.json is read by Gradescope, which enforces each
test's `visibility` itself. Instructor-only: report-instructor.html, gradebook.csv, scored.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from grader.outputs import classroom, gradebook, gradescope, junit, markdown, report, store
from grader.scoring.score import ScoredResult

RESULTS, REPORT, INSTRUCTOR_REPORT = "results.json", "report.html", "report-instructor.html"
CLASSROOM, JUNIT, GRADEBOOK, SCORED = "classroom-result.txt", "junit.xml", "gradebook.csv", store.FILE
EVIDENCE_DIR = "evidence"  # the run's evidence, inside a student's output folder
ERROR_FILE = "error.txt"  # a batch's reason for not grading a student
SUMMARY = "summary.html"  # the class summary, beside the class gradebook.csv
MARKDOWN = "result.md"  # one student's result in Markdown, for $GITHUB_STEP_SUMMARY
FILES = (RESULTS, REPORT, INSTRUCTOR_REPORT, CLASSROOM, MARKDOWN, JUNIT, GRADEBOOK, SCORED)


def write_all(scored: ScoredResult, out_dir: Path) -> dict[str, Path]:
    """Every output of one submission, each written under a temporary name and then renamed, so
    that no reader (an LMS import, a running summary, a resumed batch) sees a half-written file.
    scored.json comes last: its presence says the rest is there."""
    out_dir.mkdir(parents=True, exist_ok=True)
    writers = {
        RESULTS: lambda path: gradescope.write(scored, path),
        REPORT: lambda path: _text(path, report.render(scored, "student")),
        INSTRUCTOR_REPORT: lambda path: _text(path, report.render(scored, "instructor")),
        CLASSROOM: lambda path: _text(path, classroom.output_lines(classroom.runners(scored))),
        MARKDOWN: lambda path: _text(path, markdown.render(scored)),
        JUNIT: lambda path: junit.write(scored, path),
        GRADEBOOK: lambda path: gradebook.write([scored], path),
        SCORED: lambda path: _text(path, store.dumps(scored)),
    }
    written = {name: _atomically(out_dir / name, write) for name, write in writers.items()}
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:  # in GitHub Actions: the reporter reads steps.<id>.outputs.<runner id>, one per runner
        with open(github_output, "a", encoding="utf-8") as handle:
            handle.write(classroom.output_lines(classroom.runners(scored)))
    return written


def _atomically(path: Path, write) -> Path:
    """`write(temporary path)`, then rename it to `path` (a rename within a folder is atomic)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_not_graded(out_dir: Path, reason: str) -> Path:
    """results.json for a submission the grader failed on: says so instead of leaving nothing
    (or an old result) for Gradescope or a CI step to read."""
    out_dir.mkdir(parents=True, exist_ok=True)
    message = f"The grader could not grade this submission because of an error of its own, not of the submission: {reason}"
    return _atomically(
        out_dir / RESULTS,
        lambda path: _text(
            path,
            json.dumps({"score": 0, "output": message, "tests": [], "extra_data": {"gradable": False, "error": reason}}, indent=2) + "\n",
        ),
    )


def _text(path: Path, text: str) -> Path:
    """UTF-8; a lone surrogate (from a file name or output that was not valid UTF-8) is written as its escape."""
    path.write_text(text, encoding="utf-8", errors="backslashreplace")
    return path
