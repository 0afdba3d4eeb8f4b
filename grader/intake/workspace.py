"""A private copy of the submission, and the rule that finds its entry point.

Entry point, in order: `entry` in a `submission.toml` manifest; `train.py`; `main.py`; the only
top-level `.py` file; the only top-level `.ipynb` notebook. A single `.py` or `.ipynb` file given
as the submission is its own entry point.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.errors import CannotGrade
from grader.intake import untrusted
from grader.intake.handed_in import is_grader_output, weights_digests

MANIFEST = "submission.toml"
CONVENTIONAL_ENTRIES = ("train.py", "main.py")
IGNORED_NAMES = {".git", "__pycache__", ".ipynb_checkpoints", ".venv"}
MAX_SUBMISSION_BYTES = 2 * 1024**3


class NoEntryPoint(Exception):
    """The submission has no runnable script; graded as a failed run, not a grader error."""


@dataclass(frozen=True)
class Workspace:
    root: Path
    entry: Path | None
    entry_problem: str | None  # why no entry point was found
    handed_in: dict[str, str] = field(default_factory=dict)  # sha256 -> path of every weights file handed in
    not_copied: tuple[str, ...] = ()  # the grader's own output folders found in the submission


def find_entry(folder: Path) -> Path:
    manifest = folder / MANIFEST
    if manifest.is_file():
        try:
            entry = tomllib.loads(manifest.read_text())["entry"]
        except (tomllib.TOMLDecodeError, KeyError) as exc:
            raise NoEntryPoint(f'{MANIFEST} must hold a line like entry = "train.py" ({exc})') from exc
        path = (folder / entry).resolve()
        if not path.is_relative_to(folder.resolve()) or not path.is_file():
            raise NoEntryPoint(f"{MANIFEST} names entry {entry!r}, which is not a file inside the submission")
        return path
    for name in CONVENTIONAL_ENTRIES:
        if (folder / name).is_file():
            return folder / name
    scripts = sorted(p for p in folder.glob("*.py"))
    if len(scripts) == 1:
        return scripts[0]
    notebooks = sorted(folder.glob("*.ipynb"))
    if not scripts and len(notebooks) == 1:
        return notebooks[0]
    found = ", ".join(p.name for p in scripts + notebooks) or "none"
    raise NoEntryPoint(
        f"cannot tell which script or notebook to run (top-level files: {found}); add {MANIFEST} with "
        f'entry = "your_script.py", or name the script train.py'
    )


def prepare(submission: Path, dest: Path) -> Workspace:
    """Copy the submission into `dest` (the original is never touched), leaving out the grader's
    own output folders, fingerprint what it holds, and find its entry. A submission that cannot
    be copied as it is (a FIFO, socket or device in it, folders nested too deep, paths too long,
    too large) gets a workspace without an entry that says why: a failed run, not a grader error."""
    submission = submission.expanduser()
    if not submission.exists():
        raise CannotGrade(f"submission {submission} does not exist")
    root = submission.resolve()  # the path the instructor gave may be a link; nothing below it is followed
    skipped: list[str] = []
    try:
        if root.is_dir():
            _copy_folder(root, dest, skipped)
        elif root.suffix in (".py", ".ipynb") and root.is_file():
            dest.mkdir(parents=True)
            untrusted.copy(root.parent, root.name, dest / submission.name, MAX_SUBMISSION_BYTES)
        else:
            raise CannotGrade(f"{submission} is not a folder, a .py script, a .ipynb notebook, a .zip or a git repository")
    except (untrusted.Unreadable, OSError) as exc:
        reason = f"submission refused: {exc}"
        return Workspace(dest, None, reason if isinstance(exc, untrusted.Unreadable) else f"{reason} (while copying it)")
    common = {"handed_in": weights_digests(dest), "not_copied": tuple(skipped)}
    try:
        return Workspace(dest, find_entry(dest), None, **common)
    except NoEntryPoint as exc:
        return Workspace(dest, None, str(exc), **common)


def _copy_folder(root: Path, dest: Path, skipped: list[str]) -> None:
    """Copy files, folders and links (as links) from descriptors; raises Unreadable with the
    reason for anything else, or for a tree too deep, too large or with names too long."""

    def skip(relative, name: str) -> bool:
        ours = name in IGNORED_NAMES or is_grader_output(root / relative)
        if ours and name not in IGNORED_NAMES:
            skipped.append(str(relative))
        return ours

    listing = untrusted.walk(root, skip=skip)
    problem = untrusted.shape_problem(listing, "the submission")
    if problem:
        raise untrusted.Unreadable(problem)
    left_out = {PurePosixPath(p) for p in skipped} | {e.path for e in listing.entries if e.path.name in IGNORED_NAMES}
    entries = [e for e in listing.entries if not (left_out & {e.path, *e.path.parents})]
    total = sum(e.size for e in entries if e.kind == "file")
    if total > MAX_SUBMISSION_BYTES:
        raise untrusted.Unreadable(f"the submission holds {total:,} bytes, over the {MAX_SUBMISSION_BYTES:,} the grader copies")
    dest.mkdir(parents=True)
    for entry in entries:
        target = dest / entry.path
        if entry.kind == "folder":
            target.mkdir()
        elif entry.kind == "link":
            target.symlink_to(entry.target)
        else:
            untrusted.copy(root, entry.path, target, MAX_SUBMISSION_BYTES)
            os.chmod(target, entry.mode & 0o755)
            os.utime(target, (entry.mtime, entry.mtime))
