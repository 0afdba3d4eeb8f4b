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
from grader.outputs.atomic import atomically, utf8, write_text
from grader.scoring.score import ScoredResult

RESULTS, REPORT, INSTRUCTOR_REPORT = "results.json", "report.html", "report-instructor.html"
CLASSROOM, JUNIT, GRADEBOOK, SCORED = "classroom-result.txt", "junit.xml", "gradebook.csv", store.FILE
EVIDENCE_DIR = "evidence"  # the run's evidence, inside a student's output folder
ERROR_FILE = "error.txt"  # a batch's reason for not grading a student
SUMMARY = "summary.html"  # the class summary, beside the class gradebook.csv
MARKDOWN = "result.md"  # one student's result in Markdown, for $GITHUB_STEP_SUMMARY
FILES = (RESULTS, REPORT, INSTRUCTOR_REPORT, CLASSROOM, MARKDOWN, JUNIT, GRADEBOOK, SCORED)


def write_all(scored: ScoredResult, out_dir: Path) -> dict[str, Path]:
    """Every output of one submission, each written atomically (outputs/atomic.py); scored.json
    comes last: its presence says the rest is there."""
    out_dir.mkdir(parents=True, exist_ok=True)
    writers = {
        RESULTS: lambda path: gradescope.write(scored, path),
        REPORT: lambda path: utf8(path, report.render(scored, "student")),
        INSTRUCTOR_REPORT: lambda path: utf8(path, report.render(scored, "instructor")),
        CLASSROOM: lambda path: utf8(path, classroom.output_lines(classroom.runners(scored))),
        MARKDOWN: lambda path: utf8(path, markdown.render(scored)),
        JUNIT: lambda path: junit.write(scored, path),
        GRADEBOOK: lambda path: gradebook.write([scored], path),
        SCORED: lambda path: utf8(path, store.dumps(scored)),
    }
    written = {name: atomically(out_dir / name, write) for name, write in writers.items()}
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:  # in GitHub Actions: the reporter reads steps.<id>.outputs.<runner id>, one per runner
        with open(github_output, "a", encoding="utf-8") as handle:
            handle.write(classroom.output_lines(classroom.runners(scored)))
    return written


def write_not_graded(out_dir: Path, reason: str, sandbox_unavailable: str | None = None) -> Path:
    """results.json for a submission the grader failed on: says so instead of leaving nothing
    (or an old result) for Gradescope or a CI step to read. `sandbox_unavailable` (bubblewrap's
    reason) tells a script that only the sandbox was missing (Gradescope's run_autograder then
    grades again with container isolation)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    message = f"The grader could not grade this submission because of an error of its own, not of the submission: {reason}"
    extra = {"gradable": False, "error": reason} | ({"sandbox_unavailable": sandbox_unavailable} if sandbox_unavailable else {})
    results = {"score": 0, "output": message, "tests": [], "extra_data": extra}
    return write_text(out_dir / RESULTS, json.dumps(results, indent=2) + "\n")


def write_error(out_dir: Path, reason: str) -> Path:
    """error.txt: why a batch could not grade this student (its first line is the reason shown)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_text(out_dir / ERROR_FILE, reason + "\n")


def read_error(out_dir: Path) -> str | None:
    """The first line of error.txt ("" when it is empty); None when there is none."""
    path = out_dir / ERROR_FILE
    if not path.is_file():
        return None
    return (path.read_text(errors="replace").strip().splitlines() or [""])[0]


def result_folders(paths: list[Path], out_dir: Path | None = None) -> tuple[list[Path], list[str]]:
    """The given paths that can be a graded submission's folder, and a note for each left out:
    a file (a shell's `class/*` lists the class's own gradebook.csv, summary.html,
    gradebook.sqlite and grader.log beside the students' folders) or `out_dir` itself."""
    folders, notes = [], []
    own = Path(out_dir).resolve() if out_dir is not None else None
    for path in map(Path, paths):
        if path.exists() and not path.is_dir():
            notes.append(f"skipped {path}: a file, not a graded folder")
        elif own is not None and path.resolve() == own:
            notes.append(f"skipped {path}: the summary's own output folder, not a graded folder")
        else:
            folders.append(path)
    return folders, notes
