"""Notebook submissions, the grader's side: the command that runs one (launch/notebook_runner.py,
in the student's interpreter, inside the sandbox) and what its record says about the run."""

from __future__ import annotations

from pathlib import Path

from grader.intake import untrusted
from grader.run import error_text

RECORD, EXECUTED = "notebook.json", "executed.ipynb"
MAX_RECORD_BYTES = 1024**2  # the runner writes a few kilobytes
MAX_EXECUTED_BYTES = 32 * 1024**2
MAX_SHOWN = 300  # characters of a field of the record shown in a message


def command(python: str, notebook: str, folder: str, runner: str) -> list[str]:
    """`runner` (launch/notebook_runner.py) runs `notebook`, writing its record and executed copy
    into `folder`; every path as the run sees it."""
    return [python, runner, notebook, f"{folder}/{RECORD}", f"{folder}/{EXECUTED}"]


def read(folder: Path) -> dict | None:
    """The runner's record in the run's writable notebook folder, which the student's code could
    have replaced (with a link, a FIFO, deep JSON): read through untrusted; None when there is
    none, {"status": "unreadable", "error": why} when it cannot be taken."""
    try:
        record = untrusted.read_json(folder, RECORD, MAX_RECORD_BYTES)
    except untrusted.Missing:
        return None
    except untrusted.Unreadable as exc:
        return {"status": "unreadable", "error": str(exc)}
    if not isinstance(record, dict):
        return {"status": "unreadable", "error": f"{RECORD} holds a JSON {type(record).__name__}, not the runner's record"}
    return record


def _text(value) -> str:
    """A field of the record as one short line (it is the run's word, of any type)."""
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def _fields(value) -> dict:
    return value if isinstance(value, dict) else {}


def summary(record: dict | None, timed_out: bool) -> str | None:
    """One line on where the notebook stopped, or None when it ran to the end."""
    if not record:
        return None
    if record.get("status") == "unreadable":
        return f"the notebook runner's record could not be read ({_text(record.get('error'))}); where the notebook stopped is unknown"
    if record.get("status") == "no_nbclient":
        return (
            f"the student interpreter cannot run notebooks ({_text(record.get('error'))}); install nbclient, "
            f"nbformat and ipykernel into it, or pass --python with one that has them"
        )
    running = _fields(record.get("running"))
    if timed_out and running:
        return (
            f"cell In [{_text(running.get('cell'))}] (`{_text(running.get('source'))}`) never returned: "
            "it was still running when the time budget ran out"
        )
    failed = {key: _text(value) for key, value in _fields(record.get("failed")).items() if value is not None}
    if isinstance(_fields(record.get("failed")).get("evalue"), str):  # MindSpore's message without its C++ call stack
        failed["evalue"] = _text(error_text.readable(record["failed"]["evalue"]))
    if failed and failed.get("during") == "display":
        return (
            f"cell In [{failed.get('cell')}] raised {failed.get('ename')}: {failed.get('evalue')} while displaying its last expression "
            f"(`{failed.get('source')}`), after its code had run: the error is in showing that value, not in a line of the cell"
        )
    if failed:
        where = f"cell In [{failed.get('cell')}]" + (f", line {failed['line']}" if failed.get("line") else "")
        return f"{where} (`{failed.get('source')}`) raised {failed.get('ename')}: {failed.get('evalue')}"
    return None
