"""CSV gradebook for an LMS import: one row per submission, one column per rubric criterion
(its points), after the totals. For the instructor: it includes hidden criteria.

A spreadsheet opening the file runs a cell that starts like a formula (`=HYPERLINK(...)`,
`-2+3+cmd|...`), and names, roster cells and problems are anyone's text: every text cell that
starts with a formula character is written with a leading `'` (OWASP's CSV-injection guard),
and control and invisible characters are written escaped as in every other output. A cell that
is a plain number (a score, a negative one included) stays a number."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.outputs.atomic import utf8, write_text
from grader.outputs.wording import plain
from grader.scoring.score import ScoredResult

FIXED = (
    "student",
    "submission",
    "profile",
    "rubric",
    "verdict",
    "score",
    "max_score",
    "raw_score",
    "late_penalty_percent",
    "days_late",
    "submitted_at",
)
CLASS_ONLY = ("folder",)  # the student's output folder in a batch, as derived from the roster's name
# What a spreadsheet reads as the start of a formula (the full-width forms too, which some convert)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def cell(value):
    """One CSV cell a spreadsheet shows as text, never runs: numbers (and text that is a plain
    number) as they are; other text made printable and, when it could start a formula, led by `'`."""
    if not isinstance(value, str) or NUMBER.fullmatch(value):
        return value
    text = plain(value)
    return "'" + text if text.lstrip(" ")[:1] in FORMULA_START else text


def _csv(header: list[str], table: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[cell(name) for name in header], lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows({cell(k): cell(v) for k, v in row.items()} for row in table)
    return buffer.getvalue()


def student_name(scored: ScoredResult) -> str:
    return scored.result.student or Path(scored.result.submission).stem or scored.result.submission


def rows(results: list[ScoredResult]) -> tuple[list[str], list[dict]]:
    criteria: list[str] = []
    for scored in results:
        criteria += [c.check for c in scored.criteria if c.check not in criteria]
    table = []
    for s in results:
        row = {
            "student": student_name(s),
            "submission": s.result.submission,
            "profile": s.result.profile,
            "rubric": s.rubric.name,
            "verdict": s.verdict,
            "score": f"{s.score:g}",
            "max_score": f"{s.max_score:g}",
            "raw_score": f"{s.raw_score:g}",
            "late_penalty_percent": f"{s.late.penalty_percent:g}",
            "days_late": s.late.days_late,
            "submitted_at": s.late.submitted_at or "",
        }
        row.update({c.check: f"{c.score:g}" for c in s.criteria})
        table.append(row)
    return [*FIXED, *criteria], table


def render(results: list[ScoredResult]) -> str:
    return _csv(*rows(results))


def write(results: list[ScoredResult], path: Path) -> Path:
    return utf8(path, render(results))  # a name from undecodable bytes


@dataclass
class ClassRow:
    """One roster student in the class gradebook, graded or not."""

    student: str
    status: str  # passed | failed | could not judge | could not grade | not graded
    scored: ScoredResult | None = None
    problem: str = ""  # why there is no score
    submission: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # the roster's own columns (id, email, ...)
    folder: str = ""  # where the student's outputs are, inside the class's folder


def class_rows(students: list[ClassRow], extra_columns: list[str]) -> tuple[list[str], list[dict]]:
    """Every student a row, so an LMS import never drops one silently: the roster's columns after
    the name, then the status and why, then the scores of those graded."""
    header, graded = rows([s.scored for s in students if s.scored])
    scored_rows = iter(graded)
    table = []
    for s in students:
        row = dict(next(scored_rows)) if s.scored else {"student": s.student, "submission": s.submission}
        row.update(s.extra, student=s.student, folder=s.folder, status=s.status, problem=s.problem)
        table.append(row)
    columns = ["student", *CLASS_ONLY, *extra_columns, "status", "problem", *[c for c in header if c != "student"]]
    return columns, table


def write_class(students: list[ClassRow], extra_columns: list[str], path: Path) -> Path:
    return write_text(path, _csv(*class_rows(students, extra_columns)))
