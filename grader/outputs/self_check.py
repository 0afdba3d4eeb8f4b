"""Whether a stored result is a self-check rather than a course grade, and what every output
says about it. A result graded on a profile whose model the grader generates (random weights,
the `tiny` profile: the student default where the course model is absent, and the tests' and
demos' profile) shows that the code runs and trains the right parameters, never the course's
accuracy. So does a result whose metric thresholds carry no signal. Each output says so where
its verdict is, so that no reader takes it for a grade."""

from __future__ import annotations

from grader.course import profiles
from grader.errors import CannotGrade
from grader.scoring.score import ScoredResult

SHOWS = (
    "whether your code runs offline under the grader, builds IA3 with the right modules, trains exactly the "
    "IA3 vectors and the classifier head, keeps the base frozen and saves the adapter"
)
DOES_NOT_SHOW = (
    "whether your accuracy and F1 reach the course's thresholds (random weights cannot learn MRPC: those checks "
    "are informational here), nor your time on the real model"
)


def _generated(profile_name: str) -> bool | None:
    try:
        return profiles.load(profile_name).source == "generated"
    except CannotGrade:
        return None  # a profile this installation does not have


def _why(scored: ScoredResult) -> str:
    """Why the result is a self-check, or "" when it is a grade."""
    if _generated(scored.result.profile):
        return "its model has random weights"
    standard = scored.result.standard
    if standard is None or standard.thresholds.informational:
        return "its metric thresholds carry no signal"
    return ""


def is_self_check(scored: ScoredResult) -> bool:
    """The result's profile has a generated (random-weight) model, or its metric thresholds are
    informational (or unrecorded): either way it is no course grade."""
    return bool(_why(scored))


def headline(scored: ScoredResult) -> str:
    """The verdict's words: `Self-check passed` on a self-check, else `Passed` or `Failed`."""
    if is_self_check(scored):
        return f"Self-check {'passed' if scored.passed else 'failed'}"
    return "Passed" if scored.passed else "Failed"


def note(scored: ScoredResult) -> str:
    """What a self-check result shows and does not show, in one paragraph; empty for a grade."""
    why = _why(scored)
    if not why:
        return ""
    return (
        f"Self-check on the `{scored.result.profile}` profile, not a course grade: {why}. "
        f"It shows {SHOWS}. It does not show {DOES_NOT_SHOW}."
    )
