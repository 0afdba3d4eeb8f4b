"""The long-lived evaluator's process: the student-independent work once (MindNLP import, base
model, tokenised validation and test data), then one adapter after another on request.

    python -m grader.evidence.evaluator_server FOLDER FD   (its settings and token on stdin)

FD is a Unix socket already listening, bound in FOLDER, a private folder of its own
(Evaluator.start makes both), removed when it exits. It accepts before loading, so a request made
while it loads, or before it started, waits for it. It answers only requests carrying the token
it was given on stdin (never in its environment or on disk, where a student's process could read
it), loads only safetensors adapters (never a pickle), and exits when its stdin closes, so it
cannot outlive the grader that started it. Each request is one JSON line: {"token",
"adapter_dir", "splits", "logits"}; the evaluator answers {"started": true, "deadline_s", "pid"}
as it begins (so the client can tell waiting for the load from evaluating, and knows which
process to stop at the deadline), then one JSON line: {"ok": true, "measured", "unavailable",
"pid", "reloads"[, "logits"]} or {"ok": false, "error"}. A failure while evaluating one adapter
is that adapter's answer; the base is restored and the next request is served as if it were the
first.

One evaluation may take `deadline_s`: at least FLOOR_SECONDS, else FACTOR times what evaluating
the base model alone took at load. A student's adapter config can make PEFT run for ever (a
regular expression that backtracks, matched in C while holding the interpreter): the client
stops waiting at the deadline and kills this process, to be replaced; should the client be gone
too, an alarm left at its default action ends the process GRACE_SECONDS later.
"""

from __future__ import annotations

import hmac
import json
import os
import queue
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from grader.evidence import adapter_limits, evaluation
from grader.evidence.adapter import CONFIG, WEIGHTS
from grader.evidence.loaded_base import LoadedBase

FLOOR_SECONDS, FACTOR, GRACE_SECONDS = 60.0, 10.0, 30.0
MAX_CONFIG_BYTES = 1024**2


def _exit_when_stdin_closes(folder: Path) -> None:
    """The grader closed stdin, or died: leave nothing behind (its socket, log and device scratch)."""
    while sys.stdin.buffer.read(4096):
        pass
    shutil.rmtree(folder, ignore_errors=True)
    os._exit(0)


def answer(base: LoadedBase, unavailable: dict[str, str], request: dict) -> dict:
    folder = Path(str(request.get("adapter_dir", "")))
    if not (folder / CONFIG).is_file() or not (folder / WEIGHTS).is_file():
        return {"ok": False, "error": f"FileNotFoundError: the evaluator loads only {CONFIG} + {WEIGHTS}, not found in {folder}"}
    names = [name for name in request.get("splits", list(base.splits)) if name in base.splits]
    try:
        if (folder / CONFIG).stat().st_size > MAX_CONFIG_BYTES:
            raise ValueError(f"{CONFIG} is over {MAX_CONFIG_BYTES:,} bytes")
        refused = adapter_limits.problem(json.loads((folder / CONFIG).read_text()))
        if refused:
            raise ValueError(refused)
        found = base.evaluate(folder, names)
    except Exception as exc:  # the student's adapter: reported for that student, the evaluator goes on
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "reloads": base.reloads}
    reply = {
        "ok": True,
        "measured": {name: evaluation.score(base.splits[name], found[name].argmax(-1)) for name in names},
        "unavailable": {name: why for name, why in unavailable.items() if name in request.get("splits", [name])},
        "pid": os.getpid(),
        "reloads": base.reloads,
    }
    if request.get("logits"):
        reply["logits"] = {name: found[name].tolist() for name in names}
    return reply


def serve(connection: socket.socket, token: str, work: queue.Queue) -> None:
    """One client's requests, in order. The evaluations themselves run on the main thread, one
    at a time (MindSpore's state is the main thread's), whichever client asked; the main thread
    also writes the answers, so "started" is on its way before an evaluation can hold the
    interpreter."""
    try:
        with connection, connection.makefile("rb") as reader, connection.makefile("wb") as writer:
            for line in reader:
                request = json.loads(line)
                if not hmac.compare_digest(str(request.get("token", "")), token):
                    writer.write(b'{"ok": false, "error": "refused: wrong token"}\n')
                    writer.flush()
                    return
                done = threading.Event()
                work.put((request, writer, done))
                done.wait()
    except (OSError, ValueError) as exc:  # a client that went away or sent garbage
        print(f"connection dropped: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


def _send(writer, reply: dict) -> None:
    try:
        writer.write(json.dumps(reply).encode() + b"\n")
        writer.flush()
    except (OSError, ValueError):  # the client went away (or stopped waiting): nothing to tell
        pass


def deadline_for(base: LoadedBase, floor: float, factor: float, cap: float) -> float:
    """How long one adapter's evaluation may take: `factor` times the base model's own evaluation
    of every split, at least `floor` and at most `cap`. Only the validation split is evaluated
    (timed now, on this machine and device, as the first use also warms it up); the other splits'
    time is taken in proportion to their rows, which the warm-up in the timed part overstates."""
    rows = {name: len(split) for name, split in base.splits.items()}
    started = time.monotonic()
    evaluation.logits(base.stack[0], base.model, base.batches["validation"], rows["validation"])
    measured = (time.monotonic() - started) * sum(rows.values()) / max(1, rows["validation"])
    return min(cap, max(floor, factor * measured))


def accept(listener: socket.socket, token: str, work: queue.Queue) -> None:
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=serve, args=(connection, token, work), daemon=True).start()


def main(folder: str, listener_fd: str) -> None:
    """Serve the listening socket the grader made (and passed as `listener_fd`) in `folder`,
    which is removed when the grader closes this process's stdin."""
    settings = json.loads(sys.stdin.readline())
    listener = socket.socket(fileno=int(listener_fd))
    threading.Thread(target=_exit_when_stdin_closes, args=(Path(folder),), daemon=True).start()
    work: queue.Queue = queue.Queue()
    threading.Thread(target=accept, args=(listener, settings["token"], work), daemon=True).start()
    # It loads beside a student's timed run (and a batch's other slots train beside it): on a
    # shared CPU it yields to the training. Set before MindSpore starts its threads, which inherit it.
    os.nice(10)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the backstop: an alarm ends the process, whatever holds it
    splits, test_error = evaluation.splits_for(Path(settings["mrpc_dir"]), settings["test_limit"])
    base = LoadedBase(Path(settings["model_dir"]), settings["seed"], splits, settings["max_length"])
    unavailable = {"test": test_error} if test_error else {}
    deadline = deadline_for(
        base, settings.get("floor_seconds", FLOOR_SECONDS), settings.get("factor", FACTOR), settings.get("cap_seconds", float("inf"))
    )
    print(f"evaluator ready: pid {os.getpid()}, splits {', '.join(splits)}, {deadline:.0f} s per adapter", file=sys.stderr, flush=True)
    while True:
        request, writer, done = work.get()
        _send(writer, {"started": True, "deadline_s": deadline, "pid": os.getpid()})  # who to stop at the deadline
        signal.setitimer(signal.ITIMER_REAL, deadline + GRACE_SECONDS)
        try:
            reply = answer(base, unavailable, request)
        except Exception as exc:  # a malformed request
            reply = {"ok": False, "error": f"refused: {type(exc).__name__}: {exc}"}
        signal.setitimer(signal.ITIMER_REAL, 0)
        _send(writer, reply)
        done.set()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
