"""The class summary: one self-contained summary.html over many graded folders, plus the class
gradebook.csv. It reads each folder's scored.json; a folder that cannot be read becomes a row
that says why, so one broken submission never hides the rest of the class."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from grader.checks.judgement import ERROR, FAILED, PASSED
from grader.evidence import adapter as adapter_io
from grader.evidence import code_fingerprint
from grader.evidence.record import ADAPTER_DIR
from grader.evidence.record import FILE as EVIDENCE_FILE
from grader.intake.handed_in import digest
from grader.outputs import charts, gradebook, store
from grader.outputs.atomic import write_text
from grader.outputs.files import EVIDENCE_DIR, GRADEBOOK, INSTRUCTOR_REPORT, SUMMARY, read_error
from grader.outputs.report import environment, isolation_note, render, split_baseline
from grader.scoring.score import ScoredResult

BINS = 10
NOT_GRADED = "could not grade"
STATUS_ORDER = ("passed", "failed", "could not judge", NOT_GRADED, "not graded", "no results")


@dataclass
class Row:
    folder: Path
    student: str
    scored: ScoredResult | None
    problem: str = ""
    state: str = ""  # set when the folder's files do not tell: "could not grade", "not graded"

    @property
    def status(self) -> str:
        if self.state:
            return self.state
        if self.scored is None:
            return "no results"
        if self.scored.could_not_judge:
            return "could not judge"
        return self.scored.verdict

    def measurement(self, key: str):
        return self.scored.result.measurements.get(key) if self.scored else None


def collect(folders: list[Path]) -> list[Row]:
    rows = []
    for folder in folders:
        folder = Path(folder)
        reason = read_error(folder)
        if reason is not None:  # written by a batch run that could not grade this student
            rows.append(Row(folder, folder.name, None, reason, NOT_GRADED))
            continue
        try:
            scored = store.load(folder)
            rows.append(Row(folder, gradebook.student_name(scored), scored, isolation_note(scored)))
        except Exception as exc:  # reported in its row, never raised: the rest of the class still renders
            rows.append(Row(folder, folder.name, None, f"{type(exc).__name__}: {exc}"))
    return rows


def _score_bins(rows: list[Row]) -> list[tuple[str, int]]:
    counts = [0] * BINS
    for row in rows:
        if row.scored and row.scored.max_score:
            counts[min(BINS - 1, int(BINS * row.scored.score / row.scored.max_score))] += 1
    width = 100 // BINS
    return [(f"{i * width}-{i * width + width - 1}%" if i < BINS - 1 else f"{i * width}-100%", n) for i, n in enumerate(counts)]


def _criteria(rows: list[Row]) -> list[str]:
    names: list[str] = []
    for row in rows:
        if row.scored:
            names += [c.check for c in row.scored.criteria if c.check not in names]
    return names


def _pass_rates(rows: list[Row], names: list[str]) -> list[dict]:
    """Per criterion, among the students it was judged for (passed or failed); a criterion that
    was not run, or could not be judged, for a student is counted apart, never as judged. One the
    profile marks informational (0 points) is shown as that, in grey, never as the class failing
    a criterion that counts."""
    rates = []
    for name in names:
        found = [c for r in rows if r.scored for c in r.scored.criteria if c.check == name and not c.absent]
        if not found:
            continue
        judged = [c for c in found if c.status in (PASSED, FAILED)]
        passed = sum(c.status == PASSED for c in judged)
        rates.append(
            {
                "check": name,
                "passed": passed,
                "judged": len(judged),
                "not_judged": len(found) - len(judged),
                "rate": passed / len(judged) if judged else None,
                "informational": all(c.informational for c in found),
            }
        )
    return rates


def _rate_colour(rate: dict) -> str:
    return charts.MUTED if rate["informational"] else charts.PASS if rate["rate"] >= 0.5 else charts.FAIL


def _accuracy_chart(rows: list[Row]):
    bars = []
    for row in rows:
        value = row.measurement("validation_accuracy")
        if value is None:
            continue
        standard = row.scored.result.standard
        threshold = standard.thresholds.accuracy if standard else None
        baseline = split_baseline(row.scored, "validation", "accuracy")
        reached = standard is not None and standard.thresholds.reached("accuracy", value)
        colour = charts.STANDING_COLOURS[charts.standing(reached, float(value), baseline)]
        bars.append((row.student, float(value), colour, threshold, baseline))
    if not bars:
        return None
    return charts.hbars(bars, 1.0, "Validation accuracy per student, with the threshold and the majority-class baseline")


def banner(statuses: Counter) -> str:
    """Green only when every submission passed: the worst outcome colours the class banner."""
    if not statuses:
        return "failed"
    return "passed" if set(statuses) == {"passed"} else "failed"


def identical_adapters(rows: list[Row]) -> list[list[str]]:
    """Groups of students whose kept adapters are bit-identical: copied work, or one adapter
    handed around. For the instructor to look at, never a verdict."""
    by_digest: dict[str, list[str]] = {}
    for row in rows:
        kept = row.folder / EVIDENCE_DIR / ADAPTER_DIR
        weights = adapter_io.weights_file(kept) if kept.is_dir() else None
        if weights is not None and weights.is_file() and not weights.is_symlink():
            by_digest.setdefault(digest(weights), []).append(row.student)
    return [sorted(students) for students in by_digest.values() if len(students) > 1]


def _code(row: Row) -> dict | None:
    """The code fingerprint the grader took before the run (evidence.json), or None."""
    try:
        return json.loads((row.folder / EVIDENCE_DIR / EVIDENCE_FILE).read_text()).get("code")
    except (OSError, ValueError, AttributeError):
        return None


def similar_code(rows: list[Row]) -> list[dict]:
    """Groups of students whose code is identical or near-identical once comments, layout and
    names are set aside (evidence/code_fingerprint.py): [{"students", "identical", "least"}].
    For the instructor to look at, never a verdict."""
    return code_fingerprint.groups({row.student: _code(row) for row in rows if row.scored})


def class_notes(rows: list[Row], code_groups: list[dict], adapter_groups: list[list[str]]) -> dict[str, list[str]]:
    """Per student, what the class summary found about them and others."""
    notes: dict[str, list[str]] = {}
    for group in code_groups:
        for student in group["students"]:
            others = ", ".join(s for s in group["students"] if s != student)
            kind = "identical" if group["identical"] else f"near-identical (at least {group['least']:.0%} of normalised code in common)"
            notes.setdefault(student, []).append(f"code {kind} to {others}'s, comments, layout and names aside")
    for group in adapter_groups:
        for student in group:
            others = ", ".join(s for s in group if s != student)
            notes.setdefault(student, []).append(f"saved adapter bit-identical to {others}'s")
    return notes


def _rewrite_instructor_reports(rows: list[Row], notes: dict[str, list[str]]) -> None:
    """Each named student's instructor report, rendered again with what the class showed."""
    for row in rows:
        report = row.folder / INSTRUCTOR_REPORT
        if row.scored and row.student in notes and report.is_file():
            write_text(report, render(row.scored, "instructor", notes[row.student]))


def view(rows: list[Row], out_dir: Path) -> dict:
    names = _criteria(rows)
    rates = _pass_rates(rows, names)
    statuses = Counter(row.status for row in rows)
    status_order = [s for s in STATUS_ORDER if s in statuses]
    table = []
    for row in rows:
        report = row.folder / INSTRUCTOR_REPORT
        by_check = {c.check: c for c in row.scored.criteria} if row.scored else {}
        table.append(
            {
                "row": row,
                "link": os.path.relpath(report, out_dir) if report.is_file() else None,
                "percent": (100 * row.scored.score / row.scored.max_score) if row.scored and row.scored.max_score else None,
                "cells": [by_check.get(name) for name in names],
            }
        )
    scored_rows = [row for row in rows if row.scored]
    return {
        "rows": table,
        "names": names,
        "count": len(rows),
        "statuses": [(s, statuses[s]) for s in status_order],
        "banner": banner(statuses),
        "mean": sum(r.scored.score for r in scored_rows) / len(scored_rows) if scored_rows else None,
        "max_score": max((r.scored.max_score for r in scored_rows), default=None),
        "score_chart": charts.columns(_score_bins(rows), "Distribution of scores (percent of the maximum)") if scored_rows else None,
        "accuracy_chart": _accuracy_chart(rows),
        "metric_legend": charts.metric_legend(),
        "status_chart": charts.hbars(
            [(s, float(n), charts.PASS if s == "passed" else charts.FAIL) for s, n in [(s, statuses[s]) for s in status_order]],
            float(max(statuses.values(), default=1)),
            "Submissions by status",
            value_format="{:.0f}",
        )
        if rows
        else None,
        "rates": rates,
        "identical": identical_adapters(rows),
        "similar_code": similar_code(rows),
        "rate_chart": charts.hbars(
            [
                (r["check"] + (" (informational)" if r["informational"] else ""), r["rate"], _rate_colour(r))
                for r in rates
                if r["rate"] is not None
            ],
            1.0,
            "Pass rate per criterion",
            value_format="{:.0%}",
        )
        if any(r["rate"] is not None for r in rates)
        else None,
        "ERROR": ERROR,
        "PASSED": PASSED,
    }


def write(
    folders: list[Path], out_dir: Path, roster: dict[Path, gradebook.ClassRow] | None = None, extra_columns: list[str] | None = None
) -> tuple[Path, list[Row]]:
    """summary.html and the class gradebook.csv, a row for every folder, graded or not.
    `roster` (from a batch): per folder the student's name, the roster's own columns, and a
    status when the student is not graded yet (queued or interrupted), which the folder's files
    then do not decide."""
    out_dir, roster = Path(out_dir), roster or {}
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = collect(folders)
    for row in rows:
        known = roster.get(row.folder)
        if known:
            row.student = known.student
            if known.status:
                row.scored, row.state, row.problem = None, known.status, known.problem
    shown = view(rows, out_dir)
    html = environment().get_template("summary.html.j2").render(**shown)
    path = out_dir / SUMMARY
    write_text(path, html)
    book = []
    for row in rows:
        known = roster.get(row.folder)
        extra, submission = (known.extra, known.submission) if known else ({}, "")
        book.append(gradebook.ClassRow(row.student, row.status, row.scored, row.problem, submission, extra, row.folder.name))
    gradebook.write_class(book, list(extra_columns or []), out_dir / GRADEBOOK)
    _rewrite_instructor_reports(rows, class_notes(rows, shown["similar_code"], shown["identical"]))
    return path, rows
