"""One student's result as GitHub-flavoured Markdown, for a workflow's $GITHUB_STEP_SUMMARY: the
verdict, then every criterion the student may see with its points and reason, failed ones first.
Withheld criteria appear as one line, as on the terminal. Text that can come from the student's
program (exception messages) is escaped, so it can neither break the table nor add links or HTML."""

from __future__ import annotations

import html
import re

from grader.checks.judgement import PASSED
from grader.outputs import causes, self_check
from grader.outputs.report import adapters_found, info_status
from grader.outputs.wording import one_line, plain, reason
from grader.scoring.score import CriterionScore, ScoredResult

MARKS = {"passed": "✅", "failed": "❌", "error": "⚠️", "not_run": "➖"}
PUNCTUATION = re.compile(r"([\\`*_\[\]|~!#])")
CELL_LIMIT = 600


def escape(text: object) -> str:
    """One table cell of literal text: no HTML, no Markdown markup, no line breaks, no control or
    invisible characters (written escaped, as everywhere)."""
    return PUNCTUATION.sub(r"\\\1", html.escape(one_line(plain(text), CELL_LIMIT), quote=False))


def _kind(c: CriterionScore) -> str:
    return "informational" if c.informational else "required" if c.required else "optional"


def _row(c: CriterionScore, scored: ScoredResult) -> str:
    mark = "ℹ️" if c.informational else MARKS.get(c.status, "")
    status = info_status(c, scored) if c.informational else c.status
    detail = reason(c)
    if c.partial:
        detail += f"; {c.partial}"
    return f"| {mark} {escape(status)} | {c.score:g}/{c.max_score:g} | {escape(c.name)} ({_kind(c)}) | {escape(detail)} |"


def _following(cause: causes.Cause) -> str:
    """One row for every criterion that follows from a root cause: their names and points, once."""
    names = "; ".join(f"{c.name} ({_kind(c)})" for c in cause.following)
    score, max_score = sum(c.score for c in cause.following), sum(c.max_score for c in cause.following)
    return f"| ↳ follows | {score:g}/{max_score:g} | {escape(names)} | follows from: {escape(cause.label)} |"


def render(scored: ScoredResult) -> str:
    shown = [c for c in scored.criteria + scored.unscored if scored.released(c)]
    shown.sort(key=lambda c: (c.informational or c.status == PASSED, not c.required))
    alone, found = causes.group(shown, scored)
    rows = []
    for c in alone:
        rows.append(_row(c, scored))
        if c.check in found:
            rows.append(_following(found[c.check]))
    withheld = scored.withheld()
    r = scored.result
    verdict = self_check.headline(scored)
    mark = ("ℹ️" if self_check.is_self_check(scored) else "✅") if scored.passed else "❌"  # a self-check's pass is never a grade's green
    note = self_check.note(scored)
    lines = [
        f"## {mark} {verdict}: {scored.score:g} of {scored.max_score:g} points",
        "",
        *([f"**{escape(note)}**", ""] if note else []),
        f"Profile `{escape(r.profile)}`, rubric {escape(scored.rubric.name)}.",
        "",
        "| status | points | criterion | details |",
        "|---|---|---|---|",
        *rows,
    ]
    if withheld:
        lines.append(
            f"| withheld | ?/{sum(c.max_score for c in withheld):g} | {len(withheld)} criteria | "
            "released after the due date, when grades are published, or never (hidden) |"
        )
    lines.append("")
    adapters = adapters_found(r.measurements)
    if adapters:
        others = "; ".join(escape(a) for a in adapters["others"])
        lines += [
            f"Graded the adapter at {escape(adapters['graded'])}, one of {adapters['count']} found (also: {others}): "
            f"{escape(adapters['rule'])}.",
            "",
        ]
    if scored.late.penalty_percent:
        lines += [f"Late: {escape(scored.late.message)}; {scored.raw_score:g} points before the penalty.", ""]
    if r.environment.get("isolation_label"):
        label = escape(r.environment["isolation_label"])
        lines += [f"{label[:1].upper()}{label[1:]}.", ""]
    lines.append("The full report is `report.html` beside this file (in the workflow: the `grade-report` artifact).")
    return "\n".join(lines) + "\n"
