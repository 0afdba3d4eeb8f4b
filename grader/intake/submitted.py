"""When a submission was handed in: given explicitly, or the date of the last commit that
touched it in the submission's own repository. File times are not used: copying a folder
changes them. A folder that merely sits inside some other repository (a course monorepo, the
instructor's checkout, a student's home directory under git) does not take that repository's
dates: only a `.git` at the submission's root (a folder's own, or a script's folder's) counts."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path

from grader.dates import EXAMPLE, parse_moment
from grader.errors import CannotGrade

# Settings that would let a repository point git elsewhere or run something while it logs.
GIT_ENV_DROPPED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_CEILING_DIRECTORIES")


def parse(text: str) -> str:
    moment = parse_moment(text)
    if moment is None:
        raise CannotGrade(f"--submitted-at {text!r} is not an ISO 8601 time with a time zone, e.g. {EXAMPLE}")
    return moment.isoformat()


def own_repository(submission: Path) -> Path | None:
    """The root of the submission's own git repository: the submission folder (or a single
    file's folder) when it holds `.git` itself; None otherwise."""
    path = Path(submission).resolve()
    folder = path if path.is_dir() else path.parent
    return folder if (folder / ".git").exists() else None


def commit_time(submission: Path) -> tuple[str | None, str]:
    """The committer date of the last commit touching the submission in its own repository."""
    path = Path(submission).resolve()
    root = own_repository(path)
    if root is None:
        return None, "unknown (the submission is not the root of its own git repository; pass --submitted-at)"
    env = {k: v for k, v in os.environ.items() if k not in GIT_ENV_DROPPED} | {"GIT_CEILING_DIRECTORIES": str(root.parent)}
    command = ["git", "-c", "core.fsmonitor=false", "-c", f"safe.directory={root}", "-C", str(root)]
    try:
        done = subprocess.run(
            [*command, "log", "-1", "--format=%cI %h", "--", str(path)], capture_output=True, text=True, timeout=20, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, "unknown (git not available)"
    if done.returncode != 0 or not done.stdout.strip():
        return None, "unknown (its git repository has no commit touching it; pass --submitted-at)"
    when, commit = done.stdout.split()
    return datetime.fromisoformat(when).isoformat(), f"date of commit {commit}"


def determine(submission: Path, explicit: str | None) -> tuple[str | None, str]:
    if explicit:
        return parse(explicit), "--submitted-at"
    return commit_time(submission)
