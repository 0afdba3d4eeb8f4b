"""Turn what a student handed in into a local tree the workspace can copy: a script, a notebook,
a folder, a .zip of either, or a git repository (URL or local path) at a branch, tag, commit,
or the last commit before a deadline. The original is only read, never changed.

A submission that cannot be taken as it is (a zip entry escaping its folder, a link out of the
folder, no commit before the deadline) raises Refused: it is graded as a failed run with the
reason, so one bad submission never stops a batch. One the grader cannot get at all (a path that
is not there, a refused address, a clone that fails) raises Unreachable (errors.py): it is not
graded, error.txt says why, and the next batch tries again.
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from grader.dates import EXAMPLE, parse_moment
from grader.errors import CannotGrade, Unreachable
from grader.intake import git_copy, git_source, untrusted

REMOTE_PREFIXES = ("http://", "https://", "git@", "ssh://", "git://", "file://")  # what reads as an address, not a path
MAX_UNPACKED_BYTES = 2 * 1024**3
MAX_ENTRIES = 20_000
IGNORED_TOP = {"__MACOSX"}


class Refused(Exception):
    """The submission cannot be graded as handed in; the message says why, for the student."""


@dataclass
class Source:
    kind: str  # script | notebook | folder | zip | git
    given: str  # as the user gave it
    path: str  # the local tree (or file) the workspace copies
    commit: str | None = None
    committed: str | None = None
    commit_summary: str | None = None
    ref: str | None = None
    before: str | None = None
    fetched: str | None = None  # when the grader cloned a URL (UTC)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def is_git(given: str, ref: str | None, before: str | None) -> bool:
    """A URL or remote address (refused later if its transport is not allowed), a folder
    ending in .git, or a folder with .git when a commit is asked for."""
    if git_source.looks_like_address(given) or given.endswith(".git"):
        return True
    path = Path(given).expanduser()
    return path.is_dir() and os.path.lexists(path / ".git") and bool(ref or before)


def require_present(given: str, ref: str | None = None, before: str | None = None) -> None:
    """A local submission that is not there is a typo to report at once, before anything else
    is printed or prepared."""
    if not is_git(given, ref, before) and not Path(given).expanduser().exists():
        raise Unreachable(f"submission {given} does not exist")


def fetch(given: str, dest: Path, ref: str | None = None, before: str | None = None) -> Source:
    """Make `given` available under `dest` (or in place, for local files and folders)."""
    if is_git(given, ref, before):
        return _git(given, dest, ref, before)
    if ref or before:
        raise CannotGrade(f"--ref and --before apply to git repositories; {given} is not one")
    require_present(given)
    path = Path(given).expanduser()
    if path.is_dir():
        _refuse_links_out(path)
        return Source("folder", given, str(path))
    if path.suffix == ".zip":
        return Source("zip", given, str(_unzip(path, dest / "unpacked")))
    kinds = {".py": "script", ".ipynb": "notebook"}
    if path.suffix not in kinds:
        raise CannotGrade(f"{given} is not a folder, a .py script, a .ipynb notebook, a .zip or a git repository")
    return Source(kinds[path.suffix], given, str(path))


def _refuse_links_out(folder: Path) -> None:
    """Refuse a folder that cannot be graded as it is: a link leading out of it, a FIFO, socket
    or device in it, folders nested too deep, paths too long (untrusted.shape_problem)."""
    root = folder.resolve()
    listing = untrusted.walk(root, skip=lambda _relative, name: name == ".git")
    problem = untrusted.shape_problem(listing, folder.name or str(folder))
    if problem:
        raise Refused(problem)
    for link in listing.of_kind("link"):
        if not Path(os.path.realpath(root / link.path)).is_relative_to(root):
            raise Refused(f"{link.path} is a link to {link.target}, outside the submission; hand in the file itself")


def _unzip(archive: Path, dest: Path) -> Path:
    """Extract after checking every entry: no absolute paths, no `..`, no links leaving the
    folder, bounded size. Returns the folder to grade (a single top folder is unwrapped)."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise Refused(f"{archive.name} is not a readable zip file ({exc})") from None
    with zf:
        entries = zf.infolist()
        if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES:
            raise Refused(f"{archive.name} unpacks to more than {MAX_ENTRIES:,} files or {MAX_UNPACKED_BYTES // 1024**3} GiB")
        links = {}
        for entry in entries:
            name = PurePosixPath(entry.filename.replace("\\", "/"))
            if _too_long(name):
                raise Refused(
                    f"{archive.name} holds an entry named with {len(entry.filename):,} characters or nested "
                    f"{len(name.parts)} folders deep (at most {untrusted.MAX_PATH_CHARS:,} characters, "
                    f"{untrusted.MAX_NAME_BYTES} bytes a name, {untrusted.MAX_DEPTH} folders)"
                )
            if name.is_absolute() or ".." in name.parts or (name.parts and ":" in name.parts[0]):
                raise Refused(f"{archive.name} holds {entry.filename!r}, which points outside its folder; zip the folder itself")
            if stat.S_ISLNK(entry.external_attr >> 16):
                target = zf.read(entry).decode("utf-8", "replace")
                resolved = PurePosixPath(os.path.normpath((name.parent / target).as_posix()))
                if target.startswith("/") or resolved.parts[:1] == ("..",):
                    raise Refused(f"{archive.name} holds a link {entry.filename!r} -> {target!r} leading out of its folder")
                links[name] = target
        through = [e.filename for e in entries if any(parent in links for parent in PurePosixPath(e.filename.replace("\\", "/")).parents)]
        if through:
            raise Refused(f"{archive.name} holds {through[0]!r} inside an entry that is a link; zip the folder itself")
        dest.mkdir(parents=True)
        try:
            _extract(zf, entries, links, dest, archive.name)
        except OSError as exc:  # a file and a folder of one name, a name the file system refuses
            raise Refused(f"{archive.name} cannot be unpacked: {exc.strerror} at {Path(exc.filename or '').name!r}") from None
    top = [p for p in dest.iterdir() if p.name not in IGNORED_TOP]
    return top[0] if len(top) == 1 and top[0].is_dir() else dest


def _too_long(name: PurePosixPath) -> bool:
    return (
        len(str(name)) > untrusted.MAX_PATH_CHARS
        or len(name.parts) > untrusted.MAX_DEPTH
        or any(len(part.encode()) > untrusted.MAX_NAME_BYTES for part in name.parts)
    )


def _extract(zf: zipfile.ZipFile, entries: list[zipfile.ZipInfo], links: dict, dest: Path, shown: str) -> None:
    for entry in entries:
        name = PurePosixPath(entry.filename.replace("\\", "/"))
        if name in links:
            continue
        target = dest.joinpath(*name.parts)
        if entry.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with zf.open(entry) as src, target.open("wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a bad CRC, broken deflate data, a cut file
            raise Refused(f"{shown} is damaged at {entry.filename!r} ({exc}); make the zip again") from None
    for name, target in links.items():
        link = dest.joinpath(*name.parts)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)


def parse_deadline(text: str) -> datetime:
    """ISO date-time; without an offset it is the grader machine's local time."""
    moment = parse_moment(text, local_if_naive=True)
    if moment is None:
        raise CannotGrade(f"--before {text!r} is not a date-time such as {EXAMPLE}")
    return moment


def _git(given: str, dest: Path, ref: str | None, before: str | None) -> Source:
    """Through git_source: only the student's own objects and refs, allowed transports only."""
    deadline = parse_deadline(before) if before else None
    try:
        got = git_source.fetch(given, dest, ref, deadline)
    except git_copy.Unsafe as exc:
        raise Refused(str(exc)) from None
    return Source(
        "git",
        given,
        str(got.tree),
        got.commit,
        got.committed,
        got.summary,
        ref,
        deadline.isoformat() if deadline else None,
        got.fetched,
    )
