"""When a submission was handed in: given explicitly, or the date of the last commit that
touched it. File times are not used: copying a folder changes them."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

from .errors import CannotGrade


def parse(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise CannotGrade(f"--submitted-at {text!r} is not an ISO 8601 time with a time zone, e.g. 2026-12-02T10:00:00+08:00")
    return moment.isoformat()


def commit_time(submission: Path) -> tuple[str | None, str]:
    """The committer date of the last commit touching the submission, if it lives in git."""
    path = Path(submission).resolve()
    folder = path if path.is_dir() else path.parent
    try:
        done = subprocess.run(["git", "-C", str(folder), "log", "-1", "--format=%cI %h", "--", str(path)],
                              capture_output=True, text=True, timeout=20)
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
