"""Reading files a student controls: the submission, and everything a run could write (its copy
of the submission, its output, home, temp and notebook folders).

Such a place can hold links to the grader's secrets, FIFOs that block a reader, device files,
folders nested thousands deep, names longer than the system takes and files of any size. So
every file is reached from its root one folder at a time through file descriptors, never by
path: no link is followed at any step (`O_NOFOLLOW`), only regular files are read, each is
size-checked on the open descriptor before a byte is read, and copies are made from that
descriptor. Walks never follow links, are bounded in depth and entries, and say where they
stopped. JSON is parsed with its nesting and its integers bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

MAX_DEPTH = 32  # folders below a root
MAX_ENTRIES = 20_000  # files, folders and links under a root
MAX_NAME_BYTES = 255  # one name, as Linux allows
MAX_PATH_CHARS = 1024  # a path below its root
MAX_JSON_DEPTH = 64
MAX_INT_DIGITS = 40
CHUNK = 1 << 20
KIND_NAMES = {"file": "file", "folder": "folder", "link": "link", "fifo": "FIFO (named pipe)", "socket": "socket", "device": "device file"}
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class Unreadable(Exception):
    """A student's file the grader will not read or copy; the message says why, for the student."""


class Missing(Unreadable):
    """The file is not there."""


@dataclass(frozen=True)
class Entry:
    path: PurePosixPath  # below the root
    kind: str  # file | folder | link | fifo | socket | device
    size: int
    mtime: float
    mode: int = 0o644
    target: str | None = None  # a link's text


@dataclass
class Listing:
    """What a walk saw; `stopped` says what it left out and why (None when it saw everything)."""

    entries: list[Entry] = field(default_factory=list)
    stopped: str | None = None

    def of_kind(self, *kinds: str) -> list[Entry]:
        return [e for e in self.entries if e.kind in kinds]


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def _open_folder(root: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of root/parts, reached without following any link on the way."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts:
            try:
                inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                raise Missing(f"{part} does not exist") from None
            except OSError as exc:
                raise Unreadable(f"{part} is a link or not a folder ({exc.strerror}); it was not followed") from None
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_file(root: Path, relative: str | PurePosixPath, limit: int) -> int:
    """A read-only descriptor of the regular file root/relative of at most `limit` bytes; raises
    Unreadable for a link anywhere on the way, a FIFO, socket or device, or a file too large.
    The file is first opened as a bare handle (O_PATH: no device or FIFO is ever opened for
    reading), checked, then reopened through that handle, so it is the same inode."""
    parts = PurePosixPath(relative).parts
    if not parts or any(p in ("..", "/") for p in parts):
        raise Unreadable(f"{relative} is not a path below its folder")
    folder = _open_folder(root, parts[:-1])
    try:
        try:
            handle = os.open(parts[-1], os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
        except FileNotFoundError:
            raise Missing(f"{relative} does not exist") from None
        except OSError as exc:
            raise Unreadable(f"{relative} cannot be opened ({exc.strerror})") from None
    finally:
        os.close(folder)
    try:
        info = os.fstat(handle)
        kind = _kind(info.st_mode)
        if kind != "file":
            raise Unreadable(f"{relative} is a {KIND_NAMES[kind]}, not a regular file; the grader reads only plain files")
        if info.st_size > limit:
            raise Unreadable(f"{relative} is {info.st_size:,} bytes, over the {limit:,} the grader reads")
        return os.open(f"/proc/self/fd/{handle}", os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    finally:
        os.close(handle)


def read_bytes(root: Path, relative: str | PurePosixPath, limit: int) -> bytes:
    """The content of a regular file below `root`, at most `limit` bytes (see open_file)."""
    fd = open_file(root, relative, limit)
    with open(fd, "rb", closefd=True) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # grown since it was checked
        raise Unreadable(f"{relative} grew past the {limit:,} bytes the grader reads")
    return data


def copy(root: Path, relative: str | PurePosixPath, dest: Path, limit: int) -> None:
    """Copy a regular file below `root` to `dest` (a new file) from its open descriptor."""
    fd = open_file(root, relative, limit)
    written = 0
    with open(fd, "rb", closefd=True) as src, open(dest, "xb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > limit:
                raise Unreadable(f"{relative} grew past the {limit:,} bytes the grader copies")
            out.write(chunk)


def walk(root: Path, max_depth: int = MAX_DEPTH, max_entries: int = MAX_ENTRIES, skip=None) -> Listing:
    """Everything below `root`, links listed and never followed, without recursion: at most
    `max_depth` folders deep and `max_entries` entries. `skip(relative_path, name)` leaves a
    folder out. A root that is missing or not a folder lists nothing."""
    listing = Listing()
    try:
        top = os.open(root, _DIR_FLAGS)
    except OSError:
        return listing
    stack = [(top, os.scandir(top), PurePosixPath("."), 0)]
    try:
        while stack:
            fd, entries, where, depth = stack[-1]
            item = next(entries, None)
            if item is None:
                entries.close()
                os.close(fd)
                stack.pop()
                continue
            path = where / item.name
            try:
                info = item.stat(follow_symlinks=False)
            except OSError:
                continue  # gone since it was listed
            kind = _kind(info.st_mode)
            if len(listing.entries) >= max_entries:
                listing.stopped = f"more than {max_entries:,} entries; the rest were not looked at"
                break
            target = os.readlink(item.name, dir_fd=fd) if kind == "link" else None
            listing.entries.append(Entry(path, kind, info.st_size, info.st_mtime, stat.S_IMODE(info.st_mode), target))
            if kind != "folder" or (skip and skip(path, item.name)):
                continue
            if depth + 1 > max_depth:
                deep = f"folders nested more than {max_depth} deep (at {path}); their contents were not looked at"
                listing.stopped = listing.stopped or deep
                continue
            try:
                inner = os.open(item.name, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                continue  # replaced by a link or removed since it was listed: not followed
            stack.append((inner, os.scandir(inner), path, depth + 1))
    finally:
        for fd, entries, _, _ in stack:
            entries.close()
            os.close(fd)
    return listing


def shape_problem(listing: Listing, what: str) -> str | None:
    """Why a tree cannot be taken as a submission: something that is not a file, folder or link,
    a name or path too long, or a walk that had to stop. None when it can."""
    if listing.stopped:
        return f"{what} holds {listing.stopped}"
    for entry in listing.entries:
        if entry.kind in ("fifo", "socket", "device"):
            return f"{what} holds {entry.path}, a {KIND_NAMES[entry.kind]}; hand in only files and folders"
        if len(str(entry.path)) > MAX_PATH_CHARS or any(len(p.encode()) > MAX_NAME_BYTES for p in entry.path.parts):
            return f"{what} holds a path of {len(str(entry.path)):,} characters; paths over {MAX_PATH_CHARS:,} are refused"
    return None


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise Unreadable(f"holds an integer of {len(text):,} digits (at most {MAX_INT_DIGITS} are read)")
    return int(text)


def json_depth(data: bytes) -> int:
    """How deeply arrays and objects nest in JSON text, without parsing it (strings left out)."""
    bare = np.frombuffer(_STRING.sub(b"", data), dtype=np.uint8)
    if not bare.size:
        return 0
    steps = np.isin(bare, (ord("["), ord("{"))).astype(np.int64) - np.isin(bare, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max())


def load_json(data: bytes, what: str):
    """JSON from a student's file, or Unreadable naming `what` and why: not UTF-8, nested deeper
    than MAX_JSON_DEPTH, an integer over MAX_INT_DIGITS digits, or not JSON."""
    depth = json_depth(data)
    if depth > MAX_JSON_DEPTH:
        raise Unreadable(f"{what} nests {depth:,} levels deep; the grader reads at most {MAX_JSON_DEPTH}")
    try:
        return json.loads(data.decode("utf-8"), parse_int=_bounded_int)
    except Unreadable as exc:
        raise Unreadable(f"{what} {exc}") from None
    except UnicodeDecodeError as exc:
        raise Unreadable(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (ValueError, RecursionError) as exc:
        raise Unreadable(f"{what} is not valid JSON ({exc})") from None


def read_json(root: Path, relative: str | PurePosixPath, limit: int):
    """read_bytes, then load_json."""
    return load_json(read_bytes(root, relative, limit), str(relative))


def remove_tree(path: Path) -> None:
    """Remove a folder however deeply the student nested it, holding one descriptor at a time
    and never following a link (shutil.rmtree recurses, and fails past Python's recursion
    limit); what cannot be removed is left."""
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError:
        return
    names: list[str] = []  # from `path` down to the folder `fd` is
    try:
        while True:
            inner = None
            for name in os.listdir(fd):
                try:
                    if stat.S_ISDIR(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                        inner = os.open(name, _DIR_FLAGS, dir_fd=fd)
                        names.append(name)
                        break
                    os.unlink(name, dir_fd=fd)
                except OSError:
                    continue
            if inner is not None:
                os.close(fd)
                fd = inner
                continue
            if not names:
                break
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent
            try:
                os.rmdir(names.pop(), dir_fd=fd)
            except OSError:
                break  # not empty after all (something it could not remove): leave the rest
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(path)
