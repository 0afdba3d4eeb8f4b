"""Grade a whole class from a roster (commands/roster.py): one output folder per student, a
durable gradebook that makes the batch resumable (commands/ledger.py), then the class summary
and gradebook.csv.

Running the same command again grades only what is not graded: a student whose grading was
interrupted (Ctrl-C, kill -9, a power cut) or who could not be graded (a clone that failed, a
folder not there yet, a grader error) is graded again, a finished one is kept unless its
submission changed or `--regrade` names it, and one graded with another rubric or calibration is
re-scored from its stored evidence without training. Before anything starts, whatever a killed
batch left (its processes, found by their attempt token; its private copies) is removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.commands import ledger, rescore
from grader.commands.attempt import Job
from grader.commands.roster import Entry
from grader.course import calibration
from grader.errors import CannotGrade
from grader.intake import untrusted
from grader.intake.handed_in import content_digest
from grader.outputs import files, gradebook, summary
from grader.run import sandbox
from grader.scoring.rubric import Rubric

LOCK = ".batch.lock"
LOGS = ".batch-logs"  # each attempt's worker log
RESUME = "run the same command again to resume: what is graded is kept"


@dataclass
class Settings:
    """What every student's grading shares (the command line)."""

    profile: str
    mrpc: Path
    model_dir: str | None = None
    budget: float | None = None
    ref: str | None = None
    before: str | None = None
    device_ids: str | None = None
    python: str | None = None
    isolation: str | None = None  # --isolation for every run (run/isolation.py); None: the sandbox
    rubric: str | None = None
    submitted_at: str | None = None
    submitted_from: str = "commit"  # when no time is given: the commit's date, or the URL's fetch time


@dataclass
class Batch:
    out: Path
    book: ledger.Ledger
    entries: list[Entry]
    extra_columns: list[str]
    settings: Settings
    rubric_id: str
    calibration_id: str
    work_root: Path
    to_grade: list[str] = field(default_factory=list)  # folder names, in roster order
    to_rescore: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # interrupted by a batch that was killed
    digests: dict[str, str | None] = field(default_factory=dict)  # of each submission as its attempt began
    lock: object = None

    def entry(self, folder: str) -> Entry:
        return next(e for e in self.entries if e.folder == folder)

    def job(self, folder: str) -> Job:
        e, s = self.entry(folder), self.settings
        return Job(
            e.student,
            e.submission,
            str(self.out / folder),
            str(s.mrpc),
            s.profile,
            s.model_dir,
            s.budget,
            e.ref or s.ref,
            e.before or s.before,
            s.device_ids,
            s.python,
            s.isolation,
            s.rubric,
            e.submitted_at or s.submitted_at,
            submitted_from=s.submitted_from,
        )

    def begin(self, folder: str, slot: str, token: str, work: str) -> int:
        """Record an attempt's start, and the submission's content as it begins (None: not a local path)."""
        self.digests[folder] = content_digest(Path(self.entry(folder).submission))
        return self.book.start(folder, slot, token, work)

    def log(self, folder: str, attempt: int) -> Path:
        return self.out / LOGS / f"{folder}.{attempt}.log"

    def close(self) -> None:
        """Release the folder; the work folder goes too once nothing runs in it."""
        if not any(row["state"] == ledger.RUNNING for row in self.book.rows().values()):
            untrusted.remove_tree(self.work_root)  # a run's tree, however deep
        self.book.close()
        if self.lock:
            self.lock.close()


def identity(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def calibration_identity(profile: str) -> str:
    path = calibration.path_for(profile)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "none"


def lock_folder(out: Path):
    """The batch folder's lock, held while anything grades or re-scores into it; CannotGrade when a batch holds it."""
    handle = (out / LOCK).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise CannotGrade(f"another `grade batch` is grading into {out}; wait for it to end (or stop it) and run this again") from None
    return handle


def open_batch(
    entries: list[Entry], extra_columns: list[str], out: Path, settings: Settings, rubric: Rubric, regrade: list[str] | None
) -> Batch:
    """Lock the output folder, recover from a killed batch, and decide who is graded, re-scored
    or kept. `regrade`: None keeps finished students, [] regrades all, names regrade those."""
    out = Path(out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    lock = lock_folder(out)
    book = ledger.Ledger(out / ledger.FILE)
    work_root = Path(book.get_meta("work_root") or tempfile.mkdtemp(prefix="grade-batch-"))
    book.set_meta("work_root", str(work_root))
    batch = Batch(
        out, book, entries, extra_columns, settings, identity(rubric.to_dict()), calibration_identity(settings.profile), work_root
    )
    batch.lock = lock
    batch.recovered = recover(batch)
    unknown = sorted(set(regrade or []) - {e.student for e in entries} - {e.folder for e in entries})
    if unknown:
        batch.close()
        raise CannotGrade(f"--regrade names students not in the roster: {', '.join(unknown)}")
    book.enroll([(e.folder, e.student, e.submission, e.extra) for e in entries], extra_columns)
    rows = book.rows()
    for e in entries:
        row, folder = rows[e.folder], out / e.folder
        forced = regrade is not None and (not regrade or e.student in regrade or e.folder in regrade)
        has_result = (folder / files.SCORED).is_file() or (folder / files.ERROR_FILE).is_file()
        changed = row["state"] in ledger.FINISHED and content_digest(Path(e.submission)) != row["content_hash"]
        if forced or row["state"] != ledger.GRADED or not has_result or changed:  # could not grade: tried again
            batch.to_grade.append(e.folder)
        elif row["state"] == ledger.GRADED and (row["rubric"], row["calibration"]) != (batch.rubric_id, batch.calibration_id):
            batch.to_rescore.append(e.folder)
    book.requeue(batch.to_grade)
    return batch


def recover(batch: Batch) -> list[str]:
    """End what a killed batch left running (by each attempt's token), remove its private
    copies, and mark those students interrupted. Returns their folder names."""
    left = [row for row in batch.book.rows().values() if row["state"] == ledger.RUNNING]
    for row in left:
        if row["token"]:
            sandbox.end_attempt(row["token"])
        batch.book.finish(row["folder"], ledger.INTERRUPTED, problem="interrupted: the batch grading it ended before it finished")
    if batch.work_root.is_dir():  # no other batch uses it: we hold the lock
        for leftover in batch.work_root.iterdir():
            untrusted.remove_tree(leftover)  # a run's tree, however deep
    batch.work_root.mkdir(parents=True, exist_ok=True)
    return [row["folder"] for row in left]


def record(batch: Batch, folder: str, outcome) -> None:
    """The attempt's outcome into the gradebook, with what it was judged by."""
    if outcome.state == ledger.INTERRUPTED:
        batch.book.finish(folder, ledger.INTERRUPTED, problem=outcome.problem)
        return
    batch.book.finish(
        folder,
        outcome.state,
        content_hash=batch.digests.get(folder),
        rubric=batch.rubric_id,
        calibration=batch.calibration_id,
        **outcome.fields(),
    )


def rescore_changed(batch: Batch, rubric: Rubric, say) -> None:
    """Students graded with another rubric or calibration: judged again from stored evidence."""
    for folder in batch.to_rescore:
        try:
            scored = rescore.rescore(batch.out / folder, rubric)
        except Exception as exc:  # the stored result stays; the next batch tries again
            say(f"{batch.entry(folder).student}: could not re-score ({type(exc).__name__}: {exc}); kept as it was")
            continue
        record_rescore(batch.book, folder, scored, batch.rubric_id, batch.calibration_id)
        say(f"{batch.entry(folder).student}: re-scored with the current rubric: {scored.verdict} {scored.score:g}/{scored.max_score:g}")


def record_rescore(book: ledger.Ledger, folder: str, scored, rubric_id: str, calibration_id: str) -> None:
    """A student's new scores, and what they were judged by, into the gradebook: the next batch
    then keeps them instead of taking them for another rubric's."""
    book.update(
        folder, rubric=rubric_id, calibration=calibration_id, score=scored.score, max_score=scored.max_score, verdict=scored.verdict
    )


def class_row(row) -> gradebook.ClassRow:
    """A student's row of the class gradebook as the batch's gradebook records them: name,
    submission, the roster's columns, and a status when not graded yet (the folder's files then
    do not decide)."""
    status, problem = "", ""
    if row["state"] not in ledger.FINISHED:
        status, problem = "not graded", row["problem"] or f"{row['state']}: not graded yet; {RESUME}"
    return gradebook.ClassRow(row["student"], status, None, problem, row["submission"], ledger.roster_of(row))


def finish(batch: Batch) -> tuple[Path, list[summary.Row]]:
    """summary.html and gradebook.csv over every roster student, graded or not."""
    rows = batch.book.rows()
    known = {batch.out / e.folder: class_row(rows[e.folder]) for e in batch.entries}
    return summary.write(list(known), batch.out, known, batch.book.roster_columns())
