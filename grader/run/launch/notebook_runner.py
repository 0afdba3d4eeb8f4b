"""Execute a notebook cell by cell in a fresh kernel and record what each cell did.

Run by path with the student's interpreter, inside the sandbox, so the kernel is one of the
run's processes (and is ended with them):

    python notebook_runner.py NOTEBOOK RECORD.json EXECUTED.ipynb

Needs nbclient, nbformat and ipykernel in that interpreter, and nothing from the grader. The
kernel is always this interpreter (a kernel spec written into the private HOME), whatever the
notebook's metadata names: course images carry kernel names that exist nowhere else. The record
is rewritten before each cell, so when the budget ends the run it still says which cell was
running. Every cell's outputs are echoed to stdout and stderr for the run's logs.
"""

import ast
import json
import os
import re
import signal
import sys
import time

KERNEL = "grader-student-python"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")


def _kernel_spec():
    folder = os.path.join(os.path.expanduser("~"), ".local", "share", "jupyter", "kernels", KERNEL)
    os.makedirs(folder, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Student Python (grader)",
        "language": "python",
    }
    with open(os.path.join(folder, "kernel.json"), "w") as handle:
        json.dump(spec, handle)


def _first_line(source):
    return next((line.strip() for line in source.splitlines() if line.strip()), "")


def _echo(number, cell):
    print(f"[cell {number}]", flush=True)
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            (sys.stderr if output.get("name") == "stderr" else sys.stdout).write(output.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            text = output.get("data", {}).get("text/plain")
            if text:
                print(text)
        elif kind == "error":
            print(ANSI.sub("", "\n".join(output.get("traceback", []))), file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()


def _last_expression(source):
    """The expression IPython displays after the cell ran (its last statement, with no `;`), or None."""
    if source.rstrip().endswith(";"):
        return None
    try:
        last = ast.parse(source).body[-1:]
    except SyntaxError:  # magics and shell escapes: IPython's syntax, not Python's
        lines = [line.strip() for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        return lines[-1] if lines and not lines[-1].startswith(("%", "!")) and "=" not in lines[-1] else None
    if last and isinstance(last[0], ast.Expr):
        return _first_line(ast.get_source_segment(source, last[0]) or "")
    return None


def _failure(number, cell):
    """Where a failed cell failed. A traceback without a frame of the cell's own code means the error
    was raised while IPython displayed the cell's last expression (its repr), after the code ran."""
    error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), {})
    traceback = ANSI.sub("", "\n".join(error.get("traceback", [])))
    source = cell.get("source", "")
    ename, evalue = error.get("ename", "Error"), error.get("evalue", "")
    failure = {"cell": number, "line": None, "source": _first_line(source), "ename": ename, "evalue": evalue}
    match = CELL_LINE.search(traceback)
    if match:
        line, lines = int(match.group(1)), source.splitlines()
        failure.update(line=line, source=lines[line - 1].strip() if 0 < line <= len(lines) else failure["source"])
    elif traceback and _last_expression(source):
        failure.update(source=_last_expression(source), during="display")
    return failure


def main(argv):
    notebook_path, record_path, executed_path = argv[1:4]
    record = {"notebook": os.path.basename(notebook_path), "status": "starting", "cells": [], "running": None, "failed": None}

    def save():
        with open(record_path + ".tmp", "w") as handle:
            json.dump(record, handle, indent=2)
        os.replace(record_path + ".tmp", record_path)

    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as exc:
        record.update(status="no_nbclient", error=f"{type(exc).__name__}: {exc}")
        save()
        print(
            f"[grader] this interpreter ({sys.executable}) cannot run notebooks: {exc}; install nbclient, nbformat and ipykernel into it",
            file=sys.stderr,
        )
        return 3
    nb = nbformat.read(notebook_path, as_version=4)
    record["original_kernel"] = nb.metadata.get("kernelspec", {}).get("name")
    _kernel_spec()
    client = NotebookClient(
        nb, kernel_name=KERNEL, timeout=None, allow_errors=False, record_timing=True, resources={"metadata": {"path": os.getcwd()}}
    )

    def stopped(signum, frame):  # the budget ran out: keep what was executed so far
        record["status"] = "stopped"
        save()
        try:
            nbformat.write(nb, executed_path)
        finally:
            os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stopped)
    record["status"] = "running"
    save()
    client.reset_execution_trackers()
    with client.setup_kernel():
        number = 0  # as the notebook shows it after Run All: In [n] counts the code cells that ran
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            number += 1
            record["running"] = {"cell": number, "source": _first_line(cell.source)}
            save()
            started = time.monotonic()
            try:
                client.execute_cell(cell, index)
            except CellExecutionError:
                record["failed"] = _failure(number, cell)
            finally:
                record["cells"].append({"cell": number, "seconds": round(time.monotonic() - started, 3)})
                record["running"] = None
                _echo(number, cell)
            if record["failed"]:
                break
    record["status"] = "failed" if record["failed"] else "completed"
    save()
    nbformat.write(nb, executed_path)
    return 1 if record["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
