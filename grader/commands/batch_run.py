"""Running a batch's students on this machine's slots: one thread per slot takes the next queued
student and waits for its grader worker process (attempt.grade_one); the threads only wait,
every grading runs in a process of its own. Ctrl-C stops the running students, which are then
marked interrupted; the queued ones stay queued for the next run."""

from __future__ import annotations

import queue
import re
import threading
import time
import uuid
from pathlib import Path

from grader.commands import attempt, ledger
from grader.commands.batch import Batch, record
from grader.commands.batch_progress import Display
from grader.commands.slots import Slot
from grader.evidence.evaluator import Evaluator


class Interrupted(Exception):
    """The batch was stopped (Ctrl-C); what finished is recorded, the rest can be resumed."""


def slot_folder(batch: Batch, slot: Slot) -> Path:
    """Where a slot's attempts keep their private copies; made before any slot starts, so that every
    run can be kept from reading the other slots' folders, even of students who start after it."""
    return batch.work_root / re.sub(r"\W+", "_", slot.name)


def run_one(
    batch: Batch, folder: str, slot: Slot, display: Display, stop: threading.Event | None = None, evaluator: Evaluator | None = None
) -> attempt.Outcome:
    """One attempt of one student on one slot, recorded in the gradebook from start to end. The
    other slots' folders do not exist for its run: the sandbox shows it only its own."""
    token = uuid.uuid4().hex
    work = slot_folder(batch, slot) / token[:12]  # never the student's name: it is every run path's prefix
    number = batch.begin(folder, slot.name, token, str(work))
    student = batch.entry(folder).student
    display.started(student, slot.name)
    job = batch.job(folder)
    try:
        outcome = attempt.grade_one(
            job,
            slot,
            token,
            work,
            batch.log(folder, number),
            started=lambda pid: batch.book.running_pid(folder, pid),
            stop=stop,
            evaluator=evaluator,
        )
    except Exception as exc:  # the batch's own fault around this student: recorded, the class goes on
        outcome = attempt.Outcome(ledger.NOT_GRADED, f"{ledger.GRADER_ERROR}: {type(exc).__name__}: {exc}")
    record(batch, folder, outcome)
    display.finished(student, slot.name, outcome)
    return outcome


def run_local(batch: Batch, slots: list[Slot], display: Display) -> None:
    """Grade batch.to_grade on `slots`, at most one student per slot at a time."""
    waiting: queue.Queue[str] = queue.Queue()
    for folder in batch.to_grade:
        waiting.put(folder)
    stop = threading.Event()
    folders = {slot.name: slot_folder(batch, slot) for slot in slots}
    for path in folders.values():
        path.mkdir(parents=True, exist_ok=True)

    def slot_loop(slot: Slot) -> None:
        evaluator = None if waiting.empty() else attempt.start_evaluator(batch.job(batch.to_grade[0]), slot.device)
        try:
            while not stop.is_set():
                try:
                    folder = waiting.get_nowait()
                except queue.Empty:
                    return
                if evaluator is not None and not evaluator.alive():  # killed at an adapter's deadline, or crashed
                    evaluator.close()
                    evaluator = attempt.start_evaluator(batch.job(folder), slot.device)
                run_one(batch, folder, slot, display, stop, evaluator)
        finally:
            if evaluator is not None:
                evaluator.close()

    threads = [threading.Thread(target=slot_loop, args=(slot,), name=f"slot {slot.name}", daemon=True) for slot in slots]
    for thread in threads:
        thread.start()
    try:
        while any(thread.is_alive() for thread in threads):
            display.refresh()
            time.sleep(0.25)
    except KeyboardInterrupt:
        stop.set()
        display.say(f"stopping: ending the {display.running_count()} running grading(s) ...")
        for thread in threads:
            thread.join()
        raise Interrupted from None
