"""Grading a batch on a Ray cluster: one actor per device of the slot's kind ({"NPU": 1} on
Ascend, Ray's resource name for Ascend NPUs; one GPU on GPUs; one CPU otherwise), as many as the
cluster has. An actor is a remote slot: it holds its device for the whole batch, grades one
student after another with the same attempt.grade_one as a local slot, on whichever machine Ray
placed it, into a folder of that machine, and evaluates every one of them through one long-lived
evaluator on its device (the base model loaded once per device, not once per student). Each
grading returns the student's output folder packed; the batch unpacks it into its own folder and
records it in the same gradebook, so resuming works as for local slots. An actor that dies (its
node lost) fails only the student it was grading, and a new one takes its place.

Ray is imported only here and only when `--executor ray` is used.
"""

from __future__ import annotations

import io
import shutil
import socket
import tarfile
import tempfile
import uuid
from dataclasses import asdict
from pathlib import Path

from grader.commands import attempt, ledger
from grader.commands.batch import Batch, record
from grader.commands.batch_progress import Display
from grader.commands.batch_run import Interrupted
from grader.commands.slots import Slot
from grader.errors import CannotGrade
from grader.outputs import files
from grader.run import devices

RESOURCE = {"ascend": "NPU", "gpu": "GPU", "cpu": "CPU"}


def task_resources(kind: str, resource: str | None = None) -> tuple[str, dict]:
    """The resource a task holds while it runs, and Ray's options asking for one of it."""
    if resource:  # a custom resource (a test's stand-in for NPUs, a labelled pool of machines)
        return resource, {"resources": {resource: 1}, "num_cpus": 1}
    if kind == "ascend":
        return "NPU", {"resources": {"NPU": 1}, "num_cpus": 1}
    if kind == "gpu":
        return "GPU", {"num_gpus": 1, "num_cpus": 1}
    return "CPU", {"num_cpus": 1}


class RemoteSlot:
    """The Ray actor: one device of one node, Ray's choice, for the whole batch."""

    def __init__(self, device: str | None):
        import ray  # on the Ray worker

        kind = devices.parse(device).kind if device else "cpu"
        assigned = ray.get_runtime_context().get_accelerator_ids().get(RESOURCE.get(kind, ""), [])
        self.device = f"{kind}:{assigned[0]}" if kind != "cpu" and assigned else device
        self.slot = Slot(f"{socket.gethostname()} {self.device or 'default'}", self.device)
        self.evaluator = None

    def grade(self, job_text: str, token: str) -> tuple[dict, bytes, str]:
        """Grade one job on this actor's device; return (outcome, the output folder as a .tar.gz,
        this node and device). The evaluator starts with the first job, loading during its run."""
        job = attempt.Job.from_json(job_text)
        if self.evaluator is None or not self.evaluator.alive():
            if self.evaluator is not None:  # killed at an adapter's deadline, or crashed: its folder goes
                self.evaluator.close()
            self.evaluator = attempt.start_evaluator(job, self.device)
        with tempfile.TemporaryDirectory(prefix="grade-ray-") as tmp:
            job.out = str(Path(tmp) / "out")
            outcome = attempt.grade_one(job, self.slot, token, Path(tmp) / "work", Path(tmp) / "worker.log", evaluator=self.evaluator)
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
                if Path(job.out).is_dir():
                    tar.add(job.out, arcname=".")
                tar.add(Path(tmp) / "worker.log", arcname="worker.log")
        return asdict(outcome), buffer.getvalue(), self.slot.name

    def close(self) -> None:
        if self.evaluator is not None:
            self.evaluator.close()


def _unpack(blob: bytes, folder: Path, log: Path) -> None:
    """The returned folder in place of the student's (through a temporary name)."""
    incoming = folder.with_name(f".{folder.name}.incoming")
    shutil.rmtree(incoming, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        tar.extractall(incoming, filter="data")
    log.parent.mkdir(parents=True, exist_ok=True)
    if (incoming / "worker.log").is_file():
        shutil.move(incoming / "worker.log", log)
    shutil.rmtree(folder, ignore_errors=True)
    incoming.rename(folder)


def run_ray(batch: Batch, slot: Slot, address: str | None, display: Display, resource: str | None = None) -> None:
    """Grade batch.to_grade on the Ray cluster at `address` (None: start a local one), one student
    at a time per actor."""
    try:
        import ray
    except ImportError:
        raise CannotGrade("--executor ray needs the ray package: pip install --no-deps -r requirements-cluster.lock") from None
    kind = devices.parse(slot.device).kind if slot.device else "cpu"
    name, options = task_resources(kind, resource)
    ray.init(address=address, log_to_driver=False, include_dashboard=False) if address else ray.init(
        log_to_driver=False, include_dashboard=False
    )
    actor_class = ray.remote(RemoteSlot).options(max_restarts=0, max_task_retries=0, **options)
    waiting, pending = list(batch.to_grade), {}
    try:
        capacity = min(int(ray.cluster_resources().get(name, 0)), len(waiting))
        if capacity < 1 and waiting:
            raise CannotGrade(f"the Ray cluster at {address or 'local'} has no {name} resource; start its nodes with it (see README)")
        idle = [(f"ray-{i}", actor_class.remote(slot.device)) for i in range(1, capacity + 1)]
        while waiting or pending:
            while waiting and idle:
                folder, (shown, actor) = waiting.pop(0), idle.pop(0)
                token = uuid.uuid4().hex
                batch.begin(folder, f"ray {name}", token, "")
                display.started(batch.entry(folder).student, shown)
                pending[actor.grade.remote(batch.job(folder).to_json(), token)] = (folder, shown, actor)
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            display.refresh()
            for ref in ready:
                folder, shown, actor = pending.pop(ref)
                alive = _finish(batch, folder, ref, shown, display, ray)
                idle.append((shown, actor if alive else actor_class.remote(slot.device)))
        _close(ray, [actor for _, actor in idle])
    except KeyboardInterrupt:
        display.say(f"stopping: ending the {len(pending)} running grading(s) ...")
        for folder, shown, actor in pending.values():
            ray.kill(actor)  # the actor's process dies; its grading worker sees that, ends the run and cleans up
            outcome = attempt.Outcome(ledger.INTERRUPTED, attempt.STOPPED)
            record(batch, folder, outcome)
            display.finished(batch.entry(folder).student, shown, outcome)
        raise Interrupted from None
    finally:
        ray.shutdown()


def _close(ray, actors: list) -> None:
    """Let each actor end its evaluator; one that cannot is ended with the Ray session anyway."""
    try:
        ray.get([actor.close.remote() for actor in actors], timeout=60)
    except Exception:  # every student is recorded by now; the evaluators go with their actors
        pass


def _finish(batch: Batch, folder: str, ref, shown: str, display: Display, ray) -> bool:
    """Record what the actor returned; False when the actor itself died (a node lost)."""
    number, alive = batch.book.row(folder)["attempts"], True
    try:
        data, blob, node = ray.get(ref)
        _unpack(blob, batch.out / folder, batch.log(folder, number))
        written = any((batch.out / folder / name).is_file() for name in (files.SCORED, files.ERROR_FILE))
        outcome = attempt.read_outcome(batch.out / folder, 0, batch.log(folder, number)) if written else attempt.Outcome(**data)
        batch.book.update(folder, slot=f"ray {node}")
    except Exception as exc:  # the actor failed (a node lost, an error of Ray): recorded, the class goes on
        alive = not isinstance(exc, ray.exceptions.RayActorError)
        outcome = attempt.Outcome(ledger.NOT_GRADED, f"{ledger.GRADER_ERROR}: the Ray actor failed: {type(exc).__name__}: {exc}")
    record(batch, folder, outcome)
    display.finished(batch.entry(folder).student, shown, outcome)
    return alive
