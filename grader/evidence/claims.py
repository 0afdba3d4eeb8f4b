"""The accuracy and F1 a student's own output claims, so the grader can compare them with what it
measured. Never used as a measurement.

Handles what training logs look like: tqdm bars redrawn with carriage returns, ANSI colour
codes, dict prints (`epoch 11: {'accuracy': 0.875, 'f1': 0.91005}`, the Trainer's
`'eval_accuracy': 0.87`), plain text (`Accuracy: 87.5%`, `val_acc=0.86`, `F1 score 0.91`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# A claim has a decimal point or a per cent sign: "acc 1 of 3" is a count, not an accuracy.
NUMBER = r"(?P<value>\d*\.\d+(?:[eE][-+]?\d+)?|\d+(?=\s*%))\s*(?P<percent>%)?"
KEY = {
    "accuracy": r"(?:eval_|val_|valid_|validation_|dev_)?(?:acc|accuracy)",
    "f1": r"(?:eval_|val_|valid_|validation_|dev_)?f1(?:[ _-]?score)?",
}
# One run of spaces before an optional separator, another only after one: two adjacent `\s*`
# would backtrack quadratically on a long run of spaces (80 KB took minutes).
SEPARATOR = r"""['"]?\s*(?:(?:[:=]|\bis\b|\bof\b)\s*)?"""
MAX_LINE = 4096  # a printed metric sits at the start of its line; the rest of a huge line is not read


@dataclass(frozen=True)
class Claim:
    metric: str  # accuracy | f1
    value: float  # as a fraction in [0, 1]
    line: str  # the cleaned line it came from


def clean_lines(text: str) -> list[str]:
    """Logical lines as a terminal would finally show them: ANSI codes removed, \\r-redraws split."""
    text = ANSI.sub("", text)
    lines: list[str] = []
    for raw in text.split("\n"):
        lines += [part.strip()[:MAX_LINE] for part in raw.split("\r") if part.strip()]
    return lines


def _pattern(metric: str) -> re.Pattern:
    return re.compile(rf"(?<![A-Za-z0-9_])['\"]?{KEY[metric]}(?![A-Za-z0-9_]){SEPARATOR}{NUMBER}", re.IGNORECASE)


PATTERNS = {metric: _pattern(metric) for metric in KEY}


def _fraction(match: re.Match) -> float | None:
    value = float(match.group("value"))
    if match.group("percent") or 1.0 < value <= 100.0:
        value /= 100.0
    return value if 0.0 <= value <= 1.0 else None


def parse(text: str) -> list[Claim]:
    """Every accuracy/F1 claim, in the order printed."""
    claims: list[Claim] = []
    for line in clean_lines(text):
        if line.lower().startswith(("train", "training")):
            continue  # training-set numbers are not what the grader measures
        found = []
        for metric, pattern in PATTERNS.items():
            for match in pattern.finditer(line):
                value = _fraction(match)
                if value is not None:
                    found.append((match.start(), Claim(metric, value, line[:200])))
        claims += [claim for _, claim in sorted(found, key=lambda item: item[0])]
    return claims


def final(claims: list[Claim]) -> dict[str, Claim]:
    """The last claim of each metric: what the run says it ended with."""
    last: dict[str, Claim] = {}
    for claim in claims:
        last[claim.metric] = claim
    return last
