"""When a submission was handed in, and how far that time can be trusted.

Sources, most trustworthy first:
- given by the instructor: `--submitted-at`, or the roster's `submitted_at` column (the LMS's
  record of the hand-in);
- the fetch time of a URL (`--submitted-from fetch`): when the grader cloned it; the commit graded
  was on the server by then, so it is never earlier than the true hand-in;
- the committer date of the commit (the default): written by the student's own machine, so a
  student can set it to any time (a backdated commit evades the late penalty).
A forge's push time is not read: it needs the forge's API, and the grader works offline.

File times are not used: copying a folder changes them. A folder that merely sits inside some
other repository (a course monorepo, the instructor's checkout) does not take that repository's
dates: only a `.git` at the submission's root (a folder's own, or a script's folder's) counts.
That repository is read through a grader-made copy (git_copy.py): git never runs over the
student's own `.git`, whose config could run a program.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from grader.dates import EXAMPLE, parse_moment
from grader.errors import CannotGrade
from grader.intake import git_copy

COMMIT = "commit"
FETCH = "fetch"
CHOICES = (COMMIT, FETCH)
GIVEN = "given by the instructor (--submitted-at or the roster's submitted_at)"


def parse(text: str) -> str:
    moment = parse_moment(text)
    if moment is None:
        raise CannotGrade(f"--submitted-at {text!r} is not an ISO 8601 time with a time zone, e.g. {EXAMPLE}")
    return moment.isoformat()


def committer_date(commit: str) -> str:
    return f"committer date of commit {commit[:7]}, set by the student's machine (can be backdated)"


def fetch_time(given: str) -> str:
    return f"fetch time of {given} by the grader (the commit was on the server by then)"


def own_repository(submission: Path) -> Path | None:
    """The root of the submission's own git repository: the submission folder (or a single
    file's folder) when it holds `.git` itself; None otherwise."""
    path = Path(submission).resolve()
    folder = path if path.is_dir() else path.parent
    return folder if os.path.lexists(folder / ".git") else None


def commit_time(submission: Path) -> tuple[str | None, str]:
    """The committer date of the last commit touching the submission in its own repository."""
    path = Path(submission).resolve()
    root = own_repository(path)
    if root is None:
        return None, "unknown (the submission is not the root of its own git repository; pass --submitted-at)"
    inside = path.relative_to(root).as_posix()
    with tempfile.TemporaryDirectory(prefix="grader-dating-") as scratch:
        try:
            copy = git_copy.sanitised_copy(git_copy.git_dir_of(root), Path(scratch) / "copy.git")
            limit = ["--", inside] if inside != "." else []
            text = git_copy.output(copy, "log", "-1", "--no-show-signature", "--format=%cI %H", "HEAD", *limit).split()
        except git_copy.Unsafe as exc:
            return None, f"unknown (its git repository was not read: {exc}; pass --submitted-at)"
    if len(text) != 2:
        return None, "unknown (its git repository has no commit touching it; pass --submitted-at)"
    when, commit = text
    return datetime.fromisoformat(when).isoformat(), committer_date(commit)


def determine(submission: Path, explicit: str | None, source: dict | None = None, use: str = COMMIT) -> tuple[str | None, str]:
    """The time a grade uses and where it came from, in words the report shows. `source` is
    what intake recorded (sources.Source.to_dict()); `use` is `--submitted-from`."""
    if explicit:
        return parse(explicit), GIVEN
    source = source or {}
    if use == FETCH:
        if source.get("fetched"):
            return source["fetched"], fetch_time(source.get("given", str(submission)))
        return None, "unknown (--submitted-from fetch, but the submission was not fetched from a URL; pass --submitted-at)"
    if source.get("committed"):  # a git source: the commit graded
        return source["committed"], committer_date(source["commit"])
    return commit_time(submission)
