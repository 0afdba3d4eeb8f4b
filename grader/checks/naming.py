"""How checks name tensors in their messages: short names, bounded lists, and the differences
between the reference's set of tensors and the run's."""

from __future__ import annotations

from collections.abc import Mapping


def short(name: str) -> str:
    return name.removeprefix("base_model.model.")


def listing(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(short(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def difference_parts(
    missing: list[str], extra: list[str], reshaped: list[str], ours: Mapping, theirs: Mapping, missing_as: str, extra_as: str
) -> list[str]:
    """One phrase per kind of difference, e.g. `missing 2 tensors: ...`; the `*_as` templates
    take the count ({n})."""
    parts = []
    if extra:
        parts.append(f"{extra_as.format(n=len(extra))}: {listing(extra)}")
    if missing:
        parts.append(f"{missing_as.format(n=len(missing))}: {listing(missing)}")
    if reshaped:
        parts.append(f"different shapes: {listing([f'{short(n)} {list(theirs[n])} vs {list(ours[n])}' for n in reshaped])}")
    return parts
