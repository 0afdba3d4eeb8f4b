"""Grade a whole class from a roster: one output folder per student, then the class summary.

A roster is a CSV file with a header row. Columns: `student` and `submission` (a folder, script,
notebook, zip or git repository, as for `grade`), and optionally `ref`, `before` and
`submitted_at`, which override the command line's for that student. A student the grader
cannot grade gets a folder holding `error.txt` and a row in the summary that says why; the
batch goes on.
"""

from __future__ import annotations

import csv
import re
import traceback
from dataclasses import replace
from pathlib import Path

from grader import pipeline
from grader.course.profiles import Profile
from grader.errors import CannotGrade
from grader.intake import submitted
from grader.outputs import files, summary
from grader.scoring.rubric import Rubric

REQUIRED = ("student", "submission")
OPTIONAL = ("ref", "before", "submitted_at")


def folder_name(student: str) -> str:
    """A file-system-safe folder name that still reads as the student's name."""
    return re.sub(r"[^\w.@-]+", "_", student).strip("._") or "student"


def read_roster(path: Path) -> list[dict[str, str]]:
    """Rows of the roster; every problem is reported with its line number, all at once."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            entries = [(reader.line_num, row) for row in reader]
    except OSError as exc:
        raise CannotGrade(f"cannot read roster {path}: {exc}") from exc
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CannotGrade(
            f"{path}:1: the header must name the columns {', '.join(REQUIRED)} (missing {', '.join(missing)}); optional: "
            f"{', '.join(OPTIONAL)}"
        )
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    problems, seen, rows = [], {}, []
    if unknown:
        problems.append(f"{path}:1: unknown columns {', '.join(unknown)} (known: {', '.join(REQUIRED + OPTIONAL)})")
    for line, row in entries:
        row = {k: (v or "").strip() for k, v in row.items() if k in REQUIRED + OPTIONAL}
        empty = [c for c in REQUIRED if not row.get(c)]
        if empty:
            problems.append(f"{path}:{line}: empty {', '.join(empty)}")
            continue
        name = folder_name(row["student"])
        if name in seen:
            problems.append(f"{path}:{line}: student {row['student']!r} collides with line {seen[name]} (same output folder {name!r})")
            continue
        seen[name] = line
        rows.append(row)
    if problems:
        raise CannotGrade("roster problems:\n  " + "\n  ".join(problems))
    if not rows:
        raise CannotGrade(f"{path} names no students")
    return rows


def grade_class(
    roster: Path,
    profile: Profile,
    mrpc_dir: Path,
    out_dir: Path,
    budget: float | None,
    options: pipeline.RunOptions,
    rubric: Rubric,
    submitted_at: str | None = None,
) -> list[summary.Row]:
    entries = read_roster(roster)  # a broken roster stops before anyone is graded
    folders = []
    if not options.unsafe_no_sandbox:
        pipeline.require_sandbox()  # once, before anyone: the same for every student
    for entry in entries:
        folder = out_dir / folder_name(entry["student"])
        folders.append(folder)
        for stale in (files.ERROR_FILE, files.SCORED):  # never report a previous batch's result as this one's
            (folder / stale).unlink(missing_ok=True)
        try:
            mine = replace(options, ref=entry.get("ref") or options.ref, before=entry.get("before") or options.before)
            when = submitted.parse(entry["submitted_at"]) if entry.get("submitted_at") else submitted_at
            scored = pipeline.grade(entry["submission"], profile, mrpc_dir, folder, budget, mine, rubric, when, entry["student"])
            print(f"{entry['student']}: {scored.verdict} {scored.score:g}/{scored.max_score:g}", flush=True)
        except Exception as exc:  # recorded in the student's folder and the summary; the class goes on
            folder.mkdir(parents=True, exist_ok=True)
            reason = str(exc) if isinstance(exc, CannotGrade) else f"grader error: {type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"
            (folder / files.ERROR_FILE).write_text(reason + "\n")
            print(f"{entry['student']}: could not grade: {reason.splitlines()[0]}", flush=True)
    _, rows = summary.write(folders, out_dir)
    return rows
