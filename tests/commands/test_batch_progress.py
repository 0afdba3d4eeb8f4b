"""The batch's live display on a terminal: counts per state, each slot's student and elapsed time
against the budget, and an estimate of the rest once a grading has finished."""

import io
from collections import Counter
from types import SimpleNamespace

from rich.console import Console

from grader.commands import batch_progress
from grader.commands.attempt import Outcome
from grader.commands.batch_progress import Display


def test_live_display_shows_counts_slots_against_the_budget_and_an_estimate(monkeypatch):
    now = [1000.0]  # the display's clock, moved by hand: the estimate depends on time passed, not on how busy the machine is
    monkeypatch.setattr(batch_progress, "time", SimpleNamespace(monotonic=lambda: now[0]))
    buffer = io.StringIO()
    display = Display(Console(file=buffer, force_terminal=True, width=120), Counter({"queued": 3}), ["ascend:0", "ascend:1"], 1800)
    display.started("Ada", "ascend:0")
    display.started("Bob", "ascend:1")
    now[0] += 1.1
    display.finished("Ada", "ascend:0", Outcome("graded", "", 7, 10, "passed"))
    screen = display._render()
    display.close()
    console = Console(file=io.StringIO(), width=120)
    console.print(screen)
    text = console.file.getvalue()
    assert "1 graded, 1 running, 1 queued; about 0:01 left" in text, text  # 2 left x 1 s / 2 slots
    assert "Bob" in text and "of 30:00" in text and "idle" in text  # ascend:0 is free again
    assert "Ada: passed 7/10" in buffer.getvalue()
