"""The batch's durable gradebook: an SQLite database in the output folder that records, for every
student, where their grading stands, so that a batch killed at any moment (kill -9, a power cut)
is resumed by running the same command again.

Every change is one transaction (WAL journal, synchronous=FULL): a reader or a later batch sees a
student either before or after a change, never half-way. A running attempt records its token
(carried in the environment of every process it starts) and its private folder, so that the next
batch can end what a killed one left running and remove its copies.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from grader.errors import CannotGrade

FILE = "gradebook.sqlite"
QUEUED, RUNNING, INTERRUPTED, GRADED, NOT_GRADED = "queued", "running", "interrupted", "graded", "could not grade"
FINISHED = (GRADED, NOT_GRADED)
GRADER_ERROR = "grader error"  # starts a problem that is the grader's fault, not the submission's

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS students (
    folder TEXT PRIMARY KEY,          -- the student's output folder name inside the batch folder
    student TEXT NOT NULL,
    submission TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    content_hash TEXT,                -- of the submission as graded
    rubric TEXT,                      -- identity of the rubric it was scored with
    calibration TEXT,                 -- identity of the calibration it was judged against
    score REAL, max_score REAL, verdict TEXT,
    evidence TEXT,                    -- where its evidence lies
    problem TEXT,                     -- why it could not be graded, or was interrupted
    roster TEXT,                      -- the roster's own columns for this student (JSON, in its order)
    slot TEXT, token TEXT, pid INTEGER, work TEXT,   -- the running attempt
    started_at REAL, finished_at REAL, seconds REAL
);
CREATE TABLE IF NOT EXISTS attempts (
    folder TEXT NOT NULL, attempt INTEGER NOT NULL, slot TEXT, token TEXT, work TEXT,
    started_at REAL, finished_at REAL, outcome TEXT,
    PRIMARY KEY (folder, attempt)
);
"""
ROSTER_COLUMNS = "roster_columns"  # meta: the roster's own column names (JSON list), in its order


class Ledger:
    """One connection shared by the batch's threads under a lock; each method is a transaction."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            with self._lock:
                self._db.executescript(SCHEMA)
                columns = {row["name"] for row in self._db.execute("PRAGMA table_info(students)")}
                if "roster" not in columns:  # a gradebook written before the roster's columns were kept
                    self._db.execute("ALTER TABLE students ADD COLUMN roster TEXT")
        except sqlite3.DatabaseError as exc:  # not a gradebook (damaged, or some other file of that name)
            self._db.close()
            raise CannotGrade(
                f"{self.path} is not a gradebook the grader can read ({exc}); move it aside (each student's folder "
                "keeps its results) and run the command again"
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, *statements: tuple[str, tuple]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    self._db.execute(sql, params)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def get_meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._write(("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value)))

    def enroll(self, students: list[tuple[str, str, str, dict[str, str]]], roster_columns: list[str]) -> None:
        """(folder, student, submission, the roster's own columns) of the roster: new ones are
        queued, known ones kept with the roster's current name, submission and columns."""
        self._write(
            *(
                (
                    "INSERT INTO students (folder, student, submission, state, roster) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(folder) DO UPDATE SET student = excluded.student, submission = excluded.submission, "
                    "roster = excluded.roster",
                    (folder, student, submission, QUEUED, json.dumps(extra)),
                )
                for folder, student, submission, extra in students
            ),
            (
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (ROSTER_COLUMNS, json.dumps(roster_columns)),
            ),
        )

    def roster_columns(self) -> list[str]:
        return json.loads(self.get_meta(ROSTER_COLUMNS) or "[]")

    def row(self, folder: str) -> sqlite3.Row:
        return self._read("SELECT * FROM students WHERE folder = ?", (folder,))[0]

    def rows(self) -> dict[str, sqlite3.Row]:
        return {r["folder"]: r for r in self._read("SELECT * FROM students ORDER BY rowid")}

    def start(self, folder: str, slot: str, token: str, work: str) -> int:
        """The student is running now, attempt number returned; token and work folder recorded first."""
        now = time.time()
        attempt = self.row(folder)["attempts"] + 1
        self._write(
            (
                "UPDATE students SET state = ?, attempts = ?, slot = ?, token = ?, work = ?, pid = NULL, problem = NULL, "
                "started_at = ?, finished_at = NULL, seconds = NULL WHERE folder = ?",
                (RUNNING, attempt, slot, token, work, now, folder),
            ),
            (
                "INSERT INTO attempts (folder, attempt, slot, token, work, started_at) VALUES (?, ?, ?, ?, ?, ?)",
                (folder, attempt, slot, token, work, now),
            ),
        )
        return attempt

    def running_pid(self, folder: str, pid: int) -> None:
        self._write(("UPDATE students SET pid = ? WHERE folder = ?", (pid, folder)))

    def finish(self, folder: str, state: str, **fields) -> None:
        """The attempt ended in `state`; `fields` are further columns (score, problem, ...)."""
        now = time.time()
        row = self.row(folder)
        seconds = round(now - row["started_at"], 3) if row["started_at"] else None
        values = {"state": state, "finished_at": now, "seconds": seconds, "pid": None, "token": None, "work": None, **fields}
        assignments = ", ".join(f"{name} = ?" for name in values)
        self._write(
            (f"UPDATE students SET {assignments} WHERE folder = ?", (*values.values(), folder)),
            ("UPDATE attempts SET finished_at = ?, outcome = ? WHERE folder = ? AND attempt = ?", (now, state, folder, row["attempts"])),
        )

    def update(self, folder: str, **fields) -> None:
        """Further columns of a student as they are now (a re-score's score, verdict and rubric)."""
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self._write((f"UPDATE students SET {assignments} WHERE folder = ?", (*fields.values(), folder)))

    def requeue(self, folders: list[str]) -> None:
        self._write(*(("UPDATE students SET state = ? WHERE folder = ?", (QUEUED, folder)) for folder in folders))


def roster_of(row: sqlite3.Row) -> dict[str, str]:
    """A student's roster columns as the batch recorded them ({} in a gradebook from before they were kept)."""
    return json.loads(row["roster"]) if row["roster"] else {}
