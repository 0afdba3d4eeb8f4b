"""Which criteria follow from an earlier one: a run that did not complete leaves no adapter, and
no adapter leaves nothing to inspect or evaluate. A reader is shown the root cause once, with
what follows from it marked as such, instead of a dozen failed lines that say the same thing.

Only absence follows: a criterion that was not run because its prerequisite did not pass, or
the adapter check that found no adapter after a run that did not complete. A criterion that
failed on what it did find (a wrong adapter, base weights changed before a crash) is its own
cause and is shown as one, whatever came before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.checks.judgement import FAILED, NOT_RUN, PASSED
from grader.scoring.score import CriterionScore, ScoredResult

RUN, ADAPTER = "run", "adapter_type"
# Each check's prerequisite: the one whose facts it needs (the run's record, or the saved adapter).
PREREQUISITE = {
    "budget": RUN,
    ADAPTER: RUN,
    "frozen_base": RUN,
    "trainable_set": RUN,
    "validation_not_trained": RUN,
    "ia3_modules": ADAPTER,
    "trainable_parameters": ADAPTER,
    "ia3_trained": ADAPTER,
    "reference_copy": ADAPTER,
    "accuracy": ADAPTER,
    "f1": ADAPTER,
    "collapse": ADAPTER,
    "test_metrics": ADAPTER,
    "claimed_metrics": ADAPTER,
}
LABELS = {RUN: "the run did not complete", ADAPTER: "no adapter saved"}


@dataclass
class Cause:
    """A root cause and the criteria that follow from it, in the order given."""

    root: CriterionScore
    label: str
    following: list[CriterionScore] = field(default_factory=list)


def _no_adapter(scored: ScoredResult) -> bool:
    return not scored.result.measurements.get("adapter_found_at")


def _absent(c: CriterionScore, scored: ScoredResult) -> bool:
    """The criterion records that its facts are missing, not a finding of its own."""
    return c.status == NOT_RUN or (c.check == ADAPTER and c.status == FAILED and _no_adapter(scored))


def root_of(c: CriterionScore, by_check: dict[str, CriterionScore], scored: ScoredResult) -> CriterionScore | None:
    """The criterion `c` follows from, or None when `c` stands on its own."""
    if c.status == PASSED or not _absent(c, scored):
        return None
    root = None
    step = PREREQUISITE.get(c.check)
    while step in by_check and by_check[step].status != PASSED:
        prerequisite = by_check[step]
        root = prerequisite
        if not _absent(prerequisite, scored):
            break
        step = PREREQUISITE.get(step)
    return root


def label(root: CriterionScore) -> str:
    return LABELS.get(root.check, root.name)


def group(criteria: list[CriterionScore], scored: ScoredResult) -> tuple[list[CriterionScore], dict[str, Cause]]:
    """(criteria that stand on their own, in order; {root check: Cause}). Every criterion is in
    exactly one place: on its own, or following the root it comes from. Roots are looked for
    among `criteria` only, so a criterion the reader may not see is never named as a cause."""
    by_check = {c.check: c for c in criteria}
    alone, causes = [], {}
    for c in criteria:
        root = root_of(c, by_check, scored)
        if root is None:
            alone.append(c)
        else:
            causes.setdefault(root.check, Cause(root, label(root))).following.append(c)
    return alone, causes
