"""A private copy of the submission, and the rule that finds its entry point.

Entry point, in order: `entry` in a `submission.toml` manifest; `train.py`; `main.py`; the only
top-level `.py` file; the only top-level `.ipynb` notebook. A single `.py` or `.ipynb` file given
as the submission is its own entry point.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import CannotGrade
from grader.intake.handed_in import is_grader_output, weights_digests

MANIFEST = "submission.toml"
CONVENTIONAL_ENTRIES = ("train.py", "main.py")
IGNORED = shutil.ignore_patterns(".git", "__pycache__", ".ipynb_checkpoints", ".venv")


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
    own output folders, fingerprint what it holds, and find its entry."""
    submission = submission.expanduser()
    if not submission.exists():
        raise CannotGrade(f"submission {submission} does not exist")
    skipped: list[str] = []
    if submission.is_file():
        if submission.suffix not in (".py", ".ipynb"):
            raise CannotGrade(f"{submission} is not a folder, a .py script, a .ipynb notebook, a .zip or a git repository")
        dest.mkdir(parents=True)
        shutil.copy2(submission, dest / submission.name)
    else:

        def ignore(folder: str, names: list[str]) -> set[str]:
            ours = {
                n
                for n in names
                if (Path(folder) / n).is_dir() and not (Path(folder) / n).is_symlink() and is_grader_output(Path(folder) / n)
            }
            skipped.extend(str((Path(folder) / n).relative_to(submission)) for n in sorted(ours))
            return set(IGNORED(folder, names)) | ours

        shutil.copytree(submission, dest, ignore=ignore, symlinks=True)
    common = {"handed_in": weights_digests(dest), "not_copied": tuple(skipped)}
    try:
        return Workspace(dest, find_entry(dest), None, **common)
    except NoEntryPoint as exc:
        return Workspace(dest, None, str(exc), **common)
