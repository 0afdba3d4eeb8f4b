"""What `grade` prints: the result table, banners and notes. A terminal gets rich's colours and
tables; a pipe or a CI log gets plain lines.

Students read this output (a CI log is public to them), so criteria the rubric withholds are
never named or detailed here unless the instructor asks with --instructor. A CI runner reads it
too: text that can come from a run is printed through log_line (one line, no workflow command).
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from grader.outputs import self_check
from grader.outputs.wording import log_line, outcome
from grader.scoring.score import CriterionScore, ScoredResult

STYLES = {"passed": "green", "failed": "red", "error": "red", "not_run": "yellow", "info": "dim", "absent": "yellow"}


def console(stderr: bool = False) -> Console:
    """Rich output on a terminal; plain text (no colour codes, no box drawing) elsewhere."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, highlight=False, soft_wrap=not stream.isatty())


def banner(out: Console, title: str, text: str) -> None:
    if out.is_terminal:
        out.print(Panel(escape(text), title=title, title_align="left", border_style="yellow"))
    else:
        out.print(f"== {title} ==\n{text}\n", markup=False)


def _shown(scored: ScoredResult, instructor: bool) -> list[CriterionScore]:
    return [c for c in scored.criteria + scored.unscored if instructor or scored.released(c)]


def _flag(c: CriterionScore) -> str:
    return " (info)" if c.informational else "" if c.required else " (optional)"


def result(out: Console, scored: ScoredResult, where: str, instructor: bool = False) -> None:
    """The criteria a student may see (all of them with `instructor`), then the verdict line."""
    shown = _shown(scored, instructor)
    withheld = [] if instructor else scored.withheld()
    if out.is_terminal:
        table = Table(show_header=True, header_style="bold", expand=True)
        for column, options in (
            ("status", {"no_wrap": True}),
            ("points", {"justify": "right", "no_wrap": True}),
            ("criterion", {}),
            ("", {}),
        ):
            table.add_column(column, **options)
        for c in shown:
            status = outcome(c)  # an informational check is never shown as the student's failure
            points, name = f"{c.score:g}/{c.max_score:g}", escape(log_line(c.name + _flag(c)))
            table.add_row(f"[{STYLES.get(status, '')}]{status}[/]", points, name, escape(log_line(c.message)))
        if withheld:
            table.add_row("withheld", f"?/{sum(c.max_score for c in withheld):g}", f"{len(withheld)} criteria", "withheld from students")
        out.print(table)
    else:
        for c in shown:
            out.print(f"[{outcome(c):>7}] {c.score:g}/{c.max_score:g} {log_line(c.name)}{_flag(c)}: {log_line(c.message)}", markup=False)
        if withheld:
            out.print(
                f"[withheld] {len(withheld)} criteria worth {sum(c.max_score for c in withheld):g} points, withheld from students",
                markup=False,
            )
    if scored.late.penalty_percent:
        out.print(f"late: {log_line(scored.late.message)}", markup=False)
    if scored.result.environment.get("isolation_mode") not in (None, "sandbox"):
        out.print(log_line(scored.result.environment["isolation_label"]), markup=False)
    if scored.warnings:
        if instructor:
            for warning in scored.warnings:
                out.print(f"warning: {log_line(warning)}", markup=False)
        else:
            out.print(f"{len(scored.warnings)} rubric warnings: see report-instructor.html, or run with --instructor", markup=False)
    verdict = f"{scored.verdict.upper()}: {scored.score:g}/{scored.max_score:g}"
    colour = "green" if scored.passed else "red"
    if self_check.is_self_check(scored):  # as the report says it: never read as a course grade
        verdict, colour = f"SELF-CHECK {verdict} (not a course grade)", "blue" if scored.passed else "red"
    if out.is_terminal:
        out.print(f"\n[bold {colour}]{verdict}[/]  ->  {escape(where)}")
    else:
        out.print(f"\n{verdict}  ->  {where}", markup=False)
