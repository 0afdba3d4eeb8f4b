"""Progress of a grading on the terminal, and library chatter kept out of it.

On a terminal: the phases with their times, the run's elapsed time against its budget and the
last lines the student's program printed, redrawn in place (rich). Elsewhere (a pipe, a CI log):
one plain line per phase and one every PLAIN_EVERY seconds of the run.

MindSpore, MindNLP and the libraries they load write warnings to stderr (from C++ and from
Python) that mean nothing to the user; while grading, file descriptor 2 goes to a log file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from grader.outputs.wording import log_line
from grader.pipeline import Progress

TAIL_LINES = 6
PLAIN_EVERY = 30.0
GRADER_LOG = "grader.log"  # library warnings of the grader's own process, kept with the evidence


def tail(path: Path, lines: int = TAIL_LINES, limit: int = 16384) -> list[str]:
    """The last lines of a growing log; a progress bar redrawn with \\r counts as its last state."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - limit))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    rows = [line.rsplit("\r", 1)[-1].rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return [log_line(row) for row in rows if row.strip()][-lines:]  # the run's own text: no escape codes reach the terminal


class PlainProgress(Progress):
    def __init__(self, out: Console, every: float = PLAIN_EVERY):
        self.out, self.every, self.started, self.next_note = out, every, time.monotonic(), every

    def phase(self, name: str, detail: str = "") -> None:
        self.out.print(f"[{time.monotonic() - self.started:5.0f} s] {name}: {log_line(detail)}", markup=False)

    def running(self, elapsed: float, budget: float, logs: Path) -> None:
        if elapsed >= self.next_note:
            self.next_note += self.every
            self.out.print(f"[{time.monotonic() - self.started:5.0f} s] run: {elapsed:.0f} s of {budget:g} s", markup=False)


class LiveProgress(Progress):
    """Phases as rows, the current one spinning; the student's last printed lines under `run`."""

    def __init__(self, out: Console, title: str):
        self.out, self.title = out, title
        self.phases: list[list] = []  # [name, detail, started, ended]
        self.run_note, self.lines = "", []
        self.live = Live(self._render(), console=out, refresh_per_second=4, transient=False, redirect_stderr=False)
        self.live.start()

    def _render(self):
        table = Table.grid(padding=(0, 1))
        now = time.monotonic()
        for name, detail, started, ended in self.phases:
            mark = Text("✓", style="green") if ended else Spinner("dots", style="cyan")
            took = f"{(ended or now) - started:5.1f} s"
            note = self.run_note if name == "run" and not ended else detail
            table.add_row(mark, Text(name, style="bold"), Text(took, style="dim"), Text(note))
        parts = [Text(self.title, style="bold"), table]
        if self.lines and self.phases and self.phases[-1][0] == "run":
            parts.append(Text("\n".join("  │ " + line for line in self.lines), style="dim", overflow="ellipsis", no_wrap=True))
        return Group(*parts)

    def phase(self, name: str, detail: str = "") -> None:
        now = time.monotonic()
        if self.phases:
            self.phases[-1][3] = now
        self.phases.append([name, escape(log_line(detail)), now, None])
        self.live.update(self._render())

    def running(self, elapsed: float, budget: float, logs: Path) -> None:
        self.run_note = f"{elapsed:.0f} s of {budget:g} s budget"
        self.lines = tail(Path(logs) / "stdout.txt")
        self.live.update(self._render())

    def finished(self) -> None:
        if not self.live.is_started:
            return
        if self.phases and not self.phases[-1][3]:
            self.phases[-1][3] = time.monotonic()
        self.live.update(self._render())
        self.live.stop()


def for_terminal(out: Console, title: str) -> Progress:
    return LiveProgress(out, title) if out.is_terminal else PlainProgress(out)


@contextlib.contextmanager
def library_output_to(log: Path):
    """Send everything written to stderr (file descriptor 2 and sys.stderr) to `log` meanwhile."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved_fd, saved_stream = os.dup(2), sys.stderr
    with open(log, "a", encoding="utf-8", errors="replace") as handle:
        os.dup2(handle.fileno(), 2)
        sys.stderr = handle
        try:
            yield log
        finally:
            handle.flush()
            sys.stderr = saved_stream
            os.dup2(saved_fd, 2)
            os.close(saved_fd)


def scratch_log() -> Path:
    """A log for one grading, before its output folder exists; moved into the evidence later."""
    fd, name = tempfile.mkstemp(prefix="grade-", suffix=".log")
    os.close(fd)
    return Path(name)


def keep_log(log: Path, folder: Path) -> None:
    """Move the grading's scratch log into `folder` (the evidence logs) as GRADER_LOG when the
    grading got as far as making that folder, else drop it."""
    if folder.is_dir():
        shutil.move(str(log), folder / GRADER_LOG)
    else:
        log.unlink(missing_ok=True)
