"""The one parser of the date-times a user types: submission times, rubric deadlines, git
deadlines. ISO 8601, `Z` accepted; what to do without a UTC offset is the caller's choice."""

from __future__ import annotations

from datetime import datetime

EXAMPLE = "2026-12-01T23:59:00+08:00"


def parse_moment(text: str, *, local_if_naive: bool = False) -> datetime | None:
    """The moment `text` names, or None when it is not ISO 8601 or (unless `local_if_naive`,
    which reads it as the grader machine's local time) has no UTC offset."""
    try:
        moment = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.astimezone() if local_if_naive else None
    return moment
