"""Every file written for one graded submission, each a serialiser of the same ScoredResult.

Student-facing: report.html, classroom-result.txt (GitHub Classroom), junit.xml; they hold only
what the rubric releases to students. results.json is read by Gradescope, which enforces each
test's `visibility` itself. Instructor-only: report-instructor.html, gradebook.csv, scored.json.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import report, store
from ..scoring import ScoredResult
from . import classroom, gradebook, gradescope, junit

FILES = ("results.json", "report.html", "report-instructor.html", "classroom-result.txt", "junit.xml", "gradebook.csv", store.FILE)


def write_all(scored: ScoredResult, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {
        "results.json": gradescope.write(scored, out_dir / "results.json"),
        "report.html": _text(out_dir / "report.html", report.render(scored, "student")),
        "report-instructor.html": _text(out_dir / "report-instructor.html", report.render(scored, "instructor")),
        "classroom-result.txt": _text(out_dir / "classroom-result.txt", classroom.encode(scored) + "\n"),
        "junit.xml": junit.write(scored, out_dir / "junit.xml"),
        "gradebook.csv": gradebook.write([scored], out_dir / "gradebook.csv"),
        store.FILE: store.save(scored, out_dir),
    }
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:  # as a Classroom runner step: the reporter reads steps.<id>.outputs.result
        with open(github_output, "a", encoding="utf-8") as handle:
            handle.write(f"result={classroom.encode(scored)}\n")
    return written


def _text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
