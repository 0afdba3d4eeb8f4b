"""Shapes and sets of named tensors: one size rule and one comparison for every reader
(calibration, adapter, probe record, checks, report)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from math import prod


def size(shape: Iterable[int]) -> int:
    """Number of elements of a tensor of this shape (1 for a scalar's empty shape)."""
    return int(prod(int(d) for d in shape))


def total(shapes: Mapping[str, Iterable[int]]) -> int:
    return sum(size(s) for s in shapes.values())


def differences(ours: Mapping, theirs: Mapping) -> tuple[list[str], list[str], list[str]]:
    """Missing, extra and reshaped names between the reference's and a run's name -> shape maps."""
    missing = sorted(set(ours) - set(theirs))
    extra = sorted(set(theirs) - set(ours))
    reshaped = sorted(n for n in set(ours) & set(theirs) if list(ours[n]) != list(theirs[n]))
    return missing, extra, reshaped
