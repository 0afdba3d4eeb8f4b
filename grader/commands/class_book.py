"""A batch's class folder as `grade summary` and `grade rescore` meet it: its gradebook.sqlite
stays the one record of the class.

The summary takes each student's name, submission, roster columns (an id, an email) and standing
from it, so the gradebook.csv it writes is the one the batch wrote; a re-score in place writes
the new scores and what judged them into it, so the next batch neither shows the old scores nor
takes the new ones for another rubric's. A folder outside any batch is left to its own files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from grader.commands import batch, ledger, rescore
from grader.outputs import gradebook
from grader.scoring.rubric import Rubric
from grader.scoring.score import ScoredResult


def ledger_beside(folder: Path) -> Path | None:
    """The gradebook of the batch folder that holds `folder`, when there is one."""
    path = Path(folder).absolute().parent / ledger.FILE
    return path if path.is_file() else None


def roster_rows(folders: list[Path]) -> tuple[dict[Path, gradebook.ClassRow], list[str]]:
    """For each folder a batch graded: its row of the class gradebook as the batch records it;
    and the roster's own column names, of every batch met, in their order."""
    known: dict[Path, gradebook.ClassRow] = {}
    columns: list[str] = []
    by_book: dict[Path, list[Path]] = {}
    for folder in folders:
        path = ledger_beside(folder)
        if path is not None:
            by_book.setdefault(path, []).append(folder)
    for path, members in by_book.items():
        book = ledger.Ledger(path)
        try:
            rows, names = book.rows(), book.roster_columns()
        finally:
            book.close()
        columns += [name for name in names if name not in columns]
        known.update({folder: batch.class_row(rows[Path(folder).name]) for folder in members if Path(folder).name in rows})
    return known, columns


@contextlib.contextmanager
def graded_in_class(folder: Path) -> Iterator[ledger.Ledger | None]:
    """The gradebook recording `folder` as graded, with its batch folder locked meanwhile (a batch
    grading into it now refuses the re-score: CannotGrade); None for a folder no batch graded."""
    path = ledger_beside(folder)
    if path is None:
        yield None
        return
    lock = batch.lock_folder(path.parent)
    book = ledger.Ledger(path)
    try:
        row = book.rows().get(Path(folder).name)
        yield book if row is not None and row["state"] == ledger.GRADED else None
    finally:
        book.close()
        lock.close()


def record_rescore(book: ledger.Ledger, folder: Path, scored: ScoredResult, rubric: Rubric) -> None:
    """The re-scored student's new scores, with the identities of the rubric and calibration that
    judged them, as a batch with that rubric would record them."""
    rubric_id = batch.identity(rubric.to_dict())
    batch.record_rescore(book, Path(folder).name, scored, rubric_id, batch.calibration_identity(scored.result.profile))


def rescore_in_class(folder: Path, rubric: Rubric, out_dir: Path | None, profile: str | None, submitted_at: str | None) -> ScoredResult:
    """`grade rescore` of one folder: into `out_dir`, or in place; in place, a batch's student is
    re-scored in its class's gradebook too."""
    if out_dir is not None:
        return rescore.rescore(folder, rubric, out_dir, profile, submitted_at)
    with graded_in_class(folder) as book:
        scored = rescore.rescore(folder, rubric, None, profile, submitted_at)
        if book is not None:
            record_rescore(book, folder, scored, rubric)
    return scored
