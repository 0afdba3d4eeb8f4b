"""When a submission was handed in: given explicitly, or the date of the last commit that
touched it. File times are not used: copying a folder changes them."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

from grader.dates import EXAMPLE, parse_moment
from grader.errors import CannotGrade


def parse(text: str) -> str:
    moment = parse_moment(text)
    if moment is None:
        raise CannotGrade(f"--submitted-at {text!r} is not an ISO 8601 time with a time zone, e.g. {EXAMPLE}")
    return moment.isoformat()


def commit_time(submission: Path) -> tuple[str | None, str]:
    """The committer date of the last commit touching the submission, if it lives in git."""
    path = Path(submission).resolve()
    folder = path if path.is_dir() else path.parent
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "log", "-1", "--format=%cI %h", "--", str(path)], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, "unknown (git not available)"
    if done.returncode != 0 or not done.stdout.strip():
        return None, "unknown (not in a git repository with commits; pass --submitted-at)"
    when, commit = done.stdout.split()
    return datetime.fromisoformat(when).isoformat(), f"date of commit {commit}"


def determine(submission: Path, explicit: str | None) -> tuple[str | None, str]:
    if explicit:
        return parse(explicit), "--submitted-at"
    return commit_time(submission)
