"""The grader's handle on a long-lived evaluator (evaluator_server): start one for a profile, a
model and a device, ask it to evaluate adapters, close it.

    evaluator = Evaluator.start(profile, model_dir, mrpc_dir, device)   # returns at once; it loads meanwhile
    answer = evaluator.evaluate(adapter_dir)    # waits for the load the first time
    evaluator.close()

A batch keeps one per slot and a single grading one of its own, each started `when_needed`: its
socket is made at once (a batch's workers are told it), and the process that loads the base model
starts only once a student's run has lasted START_AFTER_SECONDS, so that the loading overlaps the
training, or once an adapter is there to evaluate (a worker connects, or this handle evaluates):
a slot whose runs end early without an adapter never loads the model. The process is the
grader's own, outside the student's sandbox, with the device's environment (on an accelerator
it holds the device it was given). If it is gone (killed, crashed, no answer in time), evaluate
raises EvaluatorGone and the caller falls back to a fresh evaluation; an adapter that does not
load is an AdapterFailed, and the evaluator stays usable. An adapter whose evaluation runs past
the evaluator's deadline (its config made PEFT run for ever) is an EvaluationTimedOut: the
evaluator is killed on the spot by whichever handle was waiting (a batch worker knows it by the
pid it gave as it began the request; the socket's peer credentials would name the grader, which
called listen()), and the slot that owns it starts a fresh one for its next student (see alive()).
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.course.profiles import Profile
from grader.run import devices, unix_socket

SOCKET_NAME, LOG_NAME = "evaluator.sock", "evaluator.log"
START_AFTER_SECONDS = 10.0  # seconds of a student's run after which an evaluator started when_needed loads beside it
TOKEN_ENV = "GRADER_EVALUATOR_TOKEN"  # how a worker given `--evaluator SOCKET` learns the token


class EvaluatorGone(RuntimeError):
    """The evaluator process is not there to answer: evaluate afresh instead."""


class AdapterFailed(RuntimeError):
    """The evaluator could not evaluate this adapter (the student's problem, not the evaluator's)."""


class EvaluationTimedOut(AdapterFailed):
    """This adapter's evaluation ran past the evaluator's deadline; the evaluator was killed."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        super().__init__(f"evaluating the adapter took over {deadline:.0f} s, the limit for one adapter, and was stopped")


@dataclass
class Answer:
    measured: dict[str, dict]  # split -> metrics
    unavailable: dict[str, str] = field(default_factory=dict)  # split -> why it was not evaluated
    pid: int = 0
    reloads: int = 0  # times the base was reloaded because an adapter had changed it
    logits: dict[str, list] | None = None


class Evaluator:
    def __init__(self, address: Path, token: str, folder: Path | None = None):
        self.address, self.token, self._folder = Path(address), token, folder
        self._process: subprocess.Popen | None = None  # the evaluator, once this handle started it
        self._listener: socket.socket | None = None  # the bound socket, until the process that serves it starts
        self._launch: tuple[list[str], dict, dict] | None = None  # (command, settings, environment) of that process
        self._connection: socket.socket | None = None
        self._reader = None
        self._server_pid: int | None = None  # the process that began this handle's request
        self.gone: str | None = None  # why it can no longer answer

    @classmethod
    def start(
        cls,
        profile: Profile,
        model_dir: Path,
        mrpc_dir: Path,
        device: devices.Device,
        floor_seconds: float | None = None,
        factor: float | None = None,
        when_needed: bool = False,
    ) -> Evaluator:
        """One evaluation may take `factor` times the base model's own (timed at load), at least
        `floor_seconds` (defaults: the server's FACTOR and FLOOR_SECONDS). `when_needed`: the
        process starts at start_when_needed() or this handle's first evaluate(), not now."""
        folder = Path(tempfile.mkdtemp(prefix="grade-evaluator-"))  # 0700: the socket, the log, device scratch
        token = secrets.token_hex(32)
        settings = {
            "token": token,
            "model_dir": str(model_dir),
            "mrpc_dir": str(mrpc_dir),
            "max_length": profile.max_length,
            "seed": profile.seed,
            "test_limit": profile.test_limit,
            "cap_seconds": profile.budget_seconds,  # one adapter never gets more than a whole run
        }
        if floor_seconds is not None:
            settings["floor_seconds"] = floor_seconds
        if factor is not None:
            settings["factor"] = factor
        handle = cls(folder / SOCKET_NAME, token, folder)
        handle._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix_socket.bind(handle._listener, handle.address)  # however long the temporary folder's path
        os.chmod(handle.address, 0o600)
        handle._listener.listen(8)  # a connection waits here until the process starts and accepts it
        command = [sys.executable, "-m", "grader.evidence.evaluator_server", str(folder), str(handle._listener.fileno())]
        handle._launch = (command, settings, os.environ | devices.environment(device, folder / "device"))
        if not when_needed:
            handle._spawn()
        return handle

    def start_when_needed(self, run_seconds: float) -> None:
        """Start the process of an evaluator started when_needed, if a student's run has lasted
        START_AFTER_SECONDS or someone (a batch's worker with an adapter) is waiting on its socket."""
        if self._listener is not None and (run_seconds >= START_AFTER_SECONDS or select.select([self._listener], [], [], 0)[0]):
            self._spawn()

    def _spawn(self) -> None:
        """The process, serving the socket made at start (and whatever connection waits on it)."""
        command, settings, env = self._launch
        try:
            with open(self._folder / LOG_NAME, "wb") as log:
                self._process = subprocess.Popen(
                    command,
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    pass_fds=(self._listener.fileno(),),
                    start_new_session=True,  # a Ctrl-C meant for the grader reaches it through close()
                )
        except OSError as exc:  # whoever asks next evaluates afresh, and says why
            self.gone = f"it could not start: {exc}"
            return
        finally:
            self._listener.close()  # the process holds it now; a connection waiting on it is refused if it did not start
            self._listener = None
        self._process.stdin.write(json.dumps(settings).encode() + b"\n")
        self._process.stdin.flush()  # kept open: the evaluator exits when it closes

    @classmethod
    def connect(cls, address: Path, token: str | None = None) -> Evaluator:
        """A handle on an evaluator started elsewhere (a worker process of a batch): its socket,
        and its token (default: ${TOKEN_ENV})."""
        return cls(Path(address), token if token is not None else os.environ.get(TOKEN_ENV, ""))

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        """Whether it can still answer: not given up on, and (for the handle that started it) not exited."""
        return self.gone is None and (self._process is None or self._process.poll() is None)

    def evaluate(
        self, adapter_dir: Path, splits: tuple[str, ...] = ("validation", "test"), timeout: float = 600, logits: bool = False
    ) -> Answer:
        """Metrics of one adapter on the splits the evaluator holds (waits for its load the first time)."""
        if self._listener is not None:  # started when_needed, and needed now
            self._spawn()
        if self.gone:
            raise EvaluatorGone(self.gone)
        request = {"token": self.token, "adapter_dir": str(Path(adapter_dir).absolute()), "splits": list(splits), "logits": logits}
        try:
            connection = self._connect(timeout)
            connection.settimeout(timeout)
            connection.sendall(json.dumps(request).encode() + b"\n")
            line = self._reader.readline()  # "started": waits for the load and any request ahead
            started = json.loads(line) if line else {}
            if started.get("started"):
                deadline, self._server_pid = float(started["deadline_s"]), int(started["pid"])
                connection.settimeout(deadline)
                try:
                    line = self._reader.readline()
                except TimeoutError:
                    self._kill(f"evaluating {Path(adapter_dir).name} took over {deadline:.0f} s")
                    raise EvaluationTimedOut(deadline) from None
        except (OSError, TimeoutError) as exc:
            self._give_up(f"{type(exc).__name__}: {exc}")
        if not line:
            self._give_up("it closed the connection without an answer")
        reply = json.loads(line)
        if not reply["ok"] and reply["error"].startswith("refused:"):  # the grader's fault, not the adapter's
            self._give_up(f"it {reply['error']}")
        if not reply["ok"]:
            raise AdapterFailed(reply["error"])
        return Answer(reply["measured"], reply.get("unavailable", {}), reply.get("pid", 0), reply.get("reloads", 0), reply.get("logits"))

    def _connect(self, timeout: float) -> socket.socket:
        if self._connection is not None:
            return self._connection
        deadline = time.monotonic() + min(timeout, 60)
        while True:
            if self._process and self._process.poll() is not None:
                self._give_up("it exited before it listened")
            try:
                connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                unix_socket.connect(connection, self.address)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                connection.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._connection, self._reader = connection, connection.makefile("rb")
        return connection

    def _kill(self, why: str) -> None:
        """End the evaluator now (it is stuck in a student's adapter) and wait until it is gone,
        so the slot that owns it sees it exited and starts another."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        elif self._server_pid is not None:
            try:
                handle = os.pidfd_open(self._server_pid)  # the process serving this request: it is alive, stuck
            except OSError:
                handle = None
            if handle is not None:
                try:
                    signal.pidfd_send_signal(handle, signal.SIGKILL)
                    select.select([handle], [], [], 30)  # readable once it has exited
                except OSError:
                    pass
                finally:
                    os.close(handle)
        self.gone = f"stopped: {why}"
        self.close()

    def _give_up(self, why: str) -> None:
        exited = None
        if self._process is not None:
            try:  # a connection reset comes before the exit can be read
                exited = self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        tail = self.log_tail()
        self.gone = f"{why}" + (f"; exited with status {exited}" if exited is not None else "") + (f"; last line: {tail}" if tail else "")
        self.close()
        raise EvaluatorGone(self.gone)

    def log_tail(self) -> str:
        log = self._folder / LOG_NAME if self._folder else None
        if log is None or not log.is_file():
            return ""
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def close(self, keep_log: Path | None = None) -> None:
        """Stop the process (if this handle started it) and remove its folder; its log (what
        MindSpore and MindNLP wrote there) is first copied to `keep_log` when given."""
        if keep_log is not None and self._folder is not None and (self._folder / LOG_NAME).is_file():
            keep_log.parent.mkdir(parents=True, exist_ok=True)  # before the process goes: it removes its folder as it exits
            shutil.copyfile(self._folder / LOG_NAME, keep_log)
        if self._connection is not None:
            self._reader.close()
            self._connection.close()
            self._connection = None
        if self._listener is not None:  # never needed: nothing was started
            self._listener.close()
            self._listener = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.stdin.close()  # the evaluator's signal to exit
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            elif not self._process.stdin.closed:
                self._process.stdin.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        self.gone = self.gone or "closed"

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
