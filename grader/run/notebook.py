"""Notebook submissions, the grader's side: the command that runs one (launch/notebook_runner.py,
in the student's interpreter, inside the sandbox) and what its record says about the run."""

from __future__ import annotations

import json
from pathlib import Path

RECORD, EXECUTED = "notebook.json", "executed.ipynb"


def command(python: str, notebook: str, folder: str, runner: str) -> list[str]:
    """`runner` (launch/notebook_runner.py) runs `notebook`, writing its record and executed copy
    into `folder`; every path as the run sees it."""
    return [python, runner, notebook, f"{folder}/{RECORD}", f"{folder}/{EXECUTED}"]


def read(folder: Path) -> dict | None:
    try:
        return json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return None


def summary(record: dict | None, timed_out: bool) -> str | None:
    """One line on where the notebook stopped, or None when it ran to the end."""
    if not record:
        return None
    if record.get("status") == "no_nbclient":
        return (
            f"the student interpreter cannot run notebooks ({record.get('error')}); install nbclient, "
            f"nbformat and ipykernel into it, or pass --python with one that has them"
        )
    running = record.get("running")
    if timed_out and running:
        return f"cell In [{running['cell']}] (`{running['source']}`) never returned: it was still running when the time budget ran out"
    failed = record.get("failed")
    if failed and failed.get("during") == "display":
        return (
            f"cell In [{failed['cell']}] raised {failed['ename']}: {failed['evalue']} while displaying its last expression "
            f"(`{failed['source']}`), after its code had run: the error is in showing that value, not in a line of the cell"
        )
    if failed:
        where = f"cell In [{failed['cell']}]" + (f", line {failed['line']}" if failed.get("line") else "")
        return f"{where} (`{failed['source']}`) raised {failed['ename']}: {failed['evalue']}"
    return None
