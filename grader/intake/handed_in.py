"""What the submission held as handed in, so that nothing in it is mistaken for the run's work.

Two things: the grader's own output folders found inside a submission (a student who ran
`grade .` in their folder has `grade-results/` there) are never copied into the run; and every
weights file the submission holds is fingerprinted by content, so an adapter the run "saves" by
copying a committed one, wherever it puts it, is recognised as handed in, not trained.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from grader.intake import untrusted

RESULTS_FOLDER = "grade-results"  # `grade`'s default output folder
GRADER_OUTPUT_NAMES = (RESULTS_FOLDER,)
GRADER_OUTPUT_MARKERS = ("scored.json", os.path.join("evidence", "evidence.json"))
WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".bin", ".pt", ".pth", ".npz")
CHUNK = 1 << 20


def is_grader_output(folder: Path) -> bool:
    """A folder the grader wrote: by its default name, or by the files it always writes."""
    return folder.name in GRADER_OUTPUT_NAMES or any((folder / marker).is_file() for marker in GRADER_OUTPUT_MARKERS)


def digest(path: Path) -> str:
    """sha256 of a regular file's content (links are not followed, a FIFO never blocks the read)."""
    h = hashlib.sha256()
    with open(path, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NOFOLLOW | os.O_NONBLOCK)) as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise untrusted.Unreadable(f"{path.name} is not a regular file")
        while chunk := handle.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def weights_digests(root: Path) -> dict[str, str]:
    """sha256 -> relative path of every regular weights file under `root` (links not followed,
    the walk bounded as untrusted.walk bounds it)."""
    found: dict[str, str] = {}
    for entry in sorted(untrusted.walk(root).of_kind("file"), key=lambda e: e.path):
        if entry.path.suffix in WEIGHT_SUFFIXES:
            found.setdefault(digest(root / entry.path), entry.path.as_posix())
    return found


def content_digest(path: Path) -> str | None:
    """sha256 over a submission's files (names and contents, links by their target text), leaving
    out the grader's own output folders; None when the path does not exist. A batch compares it
    to tell a resubmitted folder from the one it graded."""
    path = Path(path)
    if not path.exists():
        return None
    h = hashlib.sha256()
    if path.is_file():
        h.update(digest(path).encode())
        return h.hexdigest()
    listing = untrusted.walk(path, skip=lambda relative, _name: is_grader_output(path / relative))
    for entry in sorted(listing.entries, key=lambda e: e.path):
        if entry.kind == "link":
            h.update(f"link {entry.path} -> {entry.target}\n".encode())
        elif entry.kind == "file":
            h.update(f"file {entry.path} {digest(path / entry.path)}\n".encode())
    h.update(f"stopped {listing.stopped}".encode() if listing.stopped else b"")
    return h.hexdigest()
