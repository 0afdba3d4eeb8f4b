"""A batch's progress: how many students are in each state, what each slot is grading and for how
long against the budget, and an estimate of the time left.

On a terminal it is a live display redrawn in place (rich); elsewhere (a CI log, a pipe) one
plain line per event: a student started, a student finished, a note.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from grader.commands import ledger
from grader.outputs.wording import log_line

STATE_ORDER = (ledger.GRADED, ledger.NOT_GRADED, ledger.RUNNING, ledger.QUEUED, ledger.INTERRUPTED)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


class Display:
    """Told of every start and end by the executors (from several threads)."""

    def __init__(self, out: Console, counts: Counter, slots: list[str], budget: float | None, clock=time.monotonic):
        self.out, self.counts, self.budget, self.clock = out, counts, budget, clock
        self.slots: dict[str, tuple[str, float] | None] = dict.fromkeys(slots)
        self.durations: list[float] = []
        self.started_at = clock()
        self._lock = threading.Lock()
        self.live = Live(self._render(), console=out, refresh_per_second=2, transient=False) if out.is_terminal else None
        if self.live:
            self.live.start()

    def running_count(self) -> int:
        return self.counts[ledger.RUNNING]

    def estimate(self) -> float | None:
        """Seconds left, counting down as the clock runs: each running student is given the mean
        grading so far less what it has run (at least a second), the queued ones take the mean
        each on the slot that is free first; the last of them ends the batch. None before any
        student has finished, or when none is left."""
        if not self.durations or not (self.counts[ledger.QUEUED] + self.counts[ledger.RUNNING]):
            return None
        mean, now = sum(self.durations) / len(self.durations), self.clock()
        free_at = [max(1.0, mean - (now - running[1])) if running else 0.0 for running in self.slots.values()]
        free_at += [max(1.0, mean)] * max(0, self.counts[ledger.RUNNING] - sum(1 for r in self.slots.values() if r))  # no slots known (Ray)
        free_at = free_at or [0.0]
        for _ in range(self.counts[ledger.QUEUED]):
            first = free_at.index(min(free_at))
            free_at[first] += mean
        return max(free_at)

    def _counts_line(self) -> str:
        shown = ", ".join(f"{self.counts[s]} {s}" for s in STATE_ORDER if self.counts[s])
        eta = self.estimate()
        return shown + (f"; about {_clock(eta)} left" if eta is not None else "")

    def _line(self, text: str) -> None:
        """One line of the log; names and problems in it can be anyone's text."""
        self.out.print(f"[{_clock(self.clock() - self.started_at):>7}] {log_line(text)}", markup=False, highlight=False)

    def started(self, student: str, slot: str) -> None:
        with self._lock:
            self.counts[ledger.QUEUED] -= 1
            self.counts[ledger.RUNNING] += 1
            self.slots[slot] = (student, self.clock())
            if not self.live:
                self._line(f"{student}: started on {slot} ({self._counts_line()})")
        self.refresh()

    def finished(self, student: str, slot: str, outcome) -> None:
        with self._lock:
            began = self.slots.get(slot)
            took = self.clock() - began[1] if began else 0.0
            self.slots[slot] = None
            self.counts[ledger.RUNNING] -= 1
            self.counts[outcome.state] += 1
            if outcome.state == ledger.INTERRUPTED:
                self.counts[ledger.INTERRUPTED] -= 1  # back in the queue for the next run
                self.counts[ledger.QUEUED] += 1
            else:
                self.durations.append(took)
            if outcome.state == ledger.GRADED:
                what = f"{outcome.verdict} {outcome.score:g}/{outcome.max_score:g}"
            else:
                what = f"{outcome.state}: {outcome.problem}"
            self._line(f"{student}: {what} ({_clock(took)} on {slot}; {self._counts_line()})")
        self.refresh()

    def say(self, text: str) -> None:
        with self._lock:
            self._line(text)

    def _render(self):
        table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
        table.add_column("slot")
        table.add_column("student")
        table.add_column("elapsed", justify="right")
        now = self.clock()
        for slot, running in self.slots.items():
            if running:
                budget = f" of {_clock(self.budget)}" if self.budget else ""
                table.add_row(slot, Text(log_line(running[0])), f"{_clock(now - running[1])}{budget}")
            else:
                table.add_row(slot, Text("idle", style="dim"), "")
        return Group(Text(self._counts_line() or "starting", style="bold"), table)

    def refresh(self) -> None:
        if self.live:
            with self._lock:
                self.live.update(self._render())

    def close(self) -> None:
        if self.live and self.live.is_started:
            self.refresh()
            self.live.stop()
