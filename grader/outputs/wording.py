"""How a criterion reads in every output: its values as one line, its status in words, its
details without empty fields, and any text from a student's run made safe to print anywhere
(JUnit XML, Gradescope's text, a terminal), whatever bytes the run printed."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from grader.checks.judgement import ERROR, FAILED, NOT_RUN, PASSED
from grader.scoring.score import CriterionScore

ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
# Written as a visible escape wherever run text is shown: what XML 1.0 cannot hold (and no reader
# wants: C0 controls but tab and newline, DEL and C1 controls, lone surrogates, U+FFFE and
# U+FFFF); the line and paragraph separators some readers break lines at; and every invisible
# format character (Unicode category Cf) but the zero-width joiner and non-joiner that scripts
# and emoji need: bidi embeddings, overrides, isolates and marks (which make text read in
# another order than it is stored, e.g. a file name ending `\u202egnp.py`), zero-width spaces,
# the byte-order mark, invisible operators and the tag characters text can be smuggled in.
UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029"
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def plain(text) -> str:
    """Colour codes dropped, carriage returns made newlines, every other control, separator or
    invisible format character written as a visible escape (\\xNN, \\uNNNN)."""
    text = ANSI.sub("", str(text)).replace("\r\n", "\n").replace("\r", "\n")  # a progress bar's redraws: one line each
    return UNPRINTABLE.sub(_escaped, text)


# GitHub Actions runs a line of a step's output as a workflow command (`::error::`,
# `::add-mask::`, `::stop-commands::`, `::set-output`) when it starts with `::` after white
# space, and in the legacy form `##[command]` anywhere in the line.
COMMAND_START = re.compile(r"^(\s*):(?=:)", re.MULTILINE)
LEGACY_COMMAND = "##["


def inert(text: str) -> str:
    """Text that no CI log reads as a workflow command on any of its lines: a leading `::` is
    written `: :` and `##[` as `# #[`."""
    return COMMAND_START.sub(r"\1: ", text).replace(LEGACY_COMMAND, "# #[")


def log_line(text) -> str:
    """Text from a run (a message, a file or folder name) as one printable line for a log a
    machine reads: plain(), every line break written as \\n, and inert()."""
    return inert(plain(text).replace("\n", "\\n"))


def show(value) -> str:
    """One readable line for any measured or expected value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        # empty entries (no extra tensors, nothing changed) say nothing: leave them out
        return "; ".join(f"{k.replace('_', ' ')}: {show(v)}" for k, v in value.items() if v not in ([], (), {}, "", None))
    if isinstance(value, (list, tuple)):
        return ", ".join(show(v) for v in value)
    return str(value)


def one_line(text, limit: int) -> str:
    """Every run of white space (line breaks too) as one space, cut at `limit` characters with an ellipsis."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def reason(c: CriterionScore) -> str:
    """The message, then the expected and measured values that the check has, each as one
    readable line (show()): a value it lacks is left out, never written as `None`."""
    values = [f"{what} {show(value)}" for what, value in (("expected", c.expected), ("measured", c.measured)) if show(value)]
    return c.message + (f" ({', '.join(values)})" if values else "")


def lost_points(c: CriterionScore) -> bool:
    return c.score < c.max_score


def outcome(c: CriterionScore) -> str:
    """The criterion's outcome for a reader: passed, failed, error (the grader could not judge),
    not_run (a step before it failed), info (worth nothing, whatever it found) or absent (the
    result has no such check: the grader's gap, not the student's)."""
    if c.absent:
        return "absent"
    if c.informational or (c.max_score == 0 and c.status != PASSED):
        return "info"
    return c.status if c.status in (PASSED, FAILED, ERROR, NOT_RUN) else ERROR


LABELS = {
    "passed": "passed",
    "failed": "failed",
    "error": "could not be judged",
    "not_run": "not run",
    "info": "informational",
    "absent": "not in this result",
}


def label(c: CriterionScore) -> str:
    return LABELS[outcome(c)]


def details(c: CriterionScore) -> str:
    """The message, then expected and measured where there is one, then how partial credit went."""
    lines = [c.message]
    lines += [f"expected: {show(c.expected)}"] if c.expected is not None else []
    lines += [f"measured: {show(c.measured)}"] if c.measured is not None else []
    lines += [c.partial] if c.partial else []
    return plain("\n".join(lines))


BREAK_AFTER = re.compile(r"([_/.,;=:])(?=\w)")
LONG_WORD = re.compile(r"\S{14,}")


def breakable(value) -> Markup:
    """HTML text whose long tokens (paths, module names, key=value lists) may wrap after a
    separator (_ / . , ; = :) on a narrow screen; words themselves are never split."""
    text = escape(str(value))
    return Markup(LONG_WORD.sub(lambda m: BREAK_AFTER.sub(r"\1<wbr>", m.group()), text))
