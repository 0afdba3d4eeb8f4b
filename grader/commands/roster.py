"""The class roster: a CSV file with a header row, one student per row.

Columns the grader reads: `student` and `submission` (a folder, script, notebook, zip or git
repository, as for `grade`; a `file://` URL or a remote helper such as `ext::` is refused for
that student, since a student may have typed the address), and optionally `ref`, `before` and `submitted_at`, which override the
command line's for that student. Any other column (an id, an email) is the instructor's own and
is carried through to the class gradebook. A local submission path is relative to the roster
file, not to the current folder, so a roster works from wherever the batch is started.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from grader.commands import ledger
from grader.commands.progress import GRADER_LOG
from grader.errors import CannotGrade
from grader.intake import git_source
from grader.outputs import files, gradebook

REQUIRED = ("student", "submission")
OPTIONAL = ("ref", "before", "submitted_at")
RESERVED = ("status", "problem", *gradebook.CLASS_ONLY, *gradebook.FIXED)  # columns the class gradebook writes itself
# What a batch writes beside the students' folders (names starting with a dot are never a
# student's folder): a student named like one of them would overwrite it, or be overwritten.
CLASS_FILES = (
    files.SUMMARY,
    files.GRADEBOOK,
    ledger.FILE,
    *(ledger.FILE + suffix for suffix in ("-wal", "-shm", "-journal")),
    GRADER_LOG,
)
FOLDER_LIMIT = 64  # characters; a longer name is cut and given a digest of the whole name
DIGEST_CHARS = 8


@dataclass(frozen=True)
class Entry:
    student: str
    submission: str  # as the grader should read it: a URL, or a path made absolute against the roster
    line: int
    ref: str = ""
    before: str = ""
    submitted_at: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # the roster's own columns, in its order

    @property
    def folder(self) -> str:
        return folder_name(self.student)


def _digest(student: str) -> str:
    return hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]


def _kept(ch: str) -> bool:
    """Letters, marks and digits of any script, and `_ . @ -`: nothing a path or a shell reads."""
    return ch in "_.@-" or unicodedata.category(ch)[0] in "LMN"


def folder_name(student: str) -> str:
    """The student's output folder inside the batch's folder: a safe name that still reads as
    theirs. Unicode-normalised (NFKC); control, format (bidi overrides, zero-width) and
    unassigned characters dropped; anything else but letters, marks, digits and `_ . @ -`
    becomes `_`; no leading dot, dash or underscore. A name that would be empty, one of the
    batch's own files (summary.html, gradebook.csv, ...) or longer than FOLDER_LIMIT gets a
    digest of the whole name, so it stays distinct."""
    text = "".join(ch for ch in unicodedata.normalize("NFKC", student) if unicodedata.category(ch)[0] != "C")
    name = re.sub("\0+", "_", "".join(ch if _kept(ch) else "\0" for ch in text)).lstrip("._-").rstrip("._")
    suffix = "-" + _digest(student)
    if not name:
        return "student" + suffix
    if len(name) > FOLDER_LIMIT:
        return name[: FOLDER_LIMIT - len(suffix)].rstrip("._-") + suffix
    if name.casefold() in {f.casefold() for f in CLASS_FILES}:
        return name + suffix
    return name


def resolve_submission(text: str, roster_dir: Path) -> str:
    """An address (a URL, `user@host:path`, `transport::address`) stays as it is, so that the
    grading of that student fetches it or refuses it with the reason (a `file://` URL or a remote
    helper is refused then, for that student only); a relative path is taken from the roster's
    folder: a path is the instructor's own copy of the submission."""
    if git_source.looks_like_address(text):
        return text
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else (roster_dir / path).absolute())


def read(path: Path) -> tuple[list[Entry], list[str]]:
    """Entries of the roster and its extra column names; every problem is reported with its
    line number, all at once, before anyone is graded."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            lines = [(reader.line_num, cells) for cells in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CannotGrade(f"cannot read roster {path}: {exc}") from exc
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CannotGrade(
            f"{path}:1: the header must name the columns {', '.join(REQUIRED)} (missing {', '.join(missing)}); optional: "
            f"{', '.join(OPTIONAL)}; any other column is carried to the gradebook"
        )
    problems = [f"{path}:1: column {name!r} appears twice" for name in sorted({n for n in header if header.count(n) > 1})]
    problems += [f"{path}:1: column {i + 1} has no name" for i, name in enumerate(header) if not name]
    extra_columns = [name for name in header if name and name not in REQUIRED + OPTIONAL]
    taken = [name for name in extra_columns if name in RESERVED]
    if taken:
        problems.append(f"{path}:1: column(s) {', '.join(taken)} are the gradebook's own; rename them in the roster")
    seen: dict[str, int] = {}
    entries = []
    for line, cells in lines:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) != len(header):
            problems.append(f"{path}:{line}: {len(cells)} cells where the header has {len(header)} columns")
            continue
        row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        empty = [c for c in REQUIRED if not row[c]]
        if empty:
            problems.append(f"{path}:{line}: empty {', '.join(empty)}")
            continue
        name = folder_name(row["student"])
        if name in seen:  # reported, never resolved silently: the instructor decides whose folder is whose
            problems.append(f"{path}:{line}: student {row['student']!r} collides with line {seen[name]} (same output folder {name!r})")
            continue
        seen[name] = line
        entries.append(
            Entry(
                row["student"],
                resolve_submission(row["submission"], path.absolute().parent),
                line,
                row.get("ref", ""),
                row.get("before", ""),
                row.get("submitted_at", ""),
                {c: row[c] for c in extra_columns},
            )
        )
    if problems:
        raise CannotGrade("roster problems:\n  " + "\n  ".join(problems))
    if not entries:
        raise CannotGrade(f"{path} names no students")
    return entries, extra_columns
