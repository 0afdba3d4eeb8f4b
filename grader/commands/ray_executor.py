"""Grading a batch on a Ray cluster: one task per submission, each asking for one device of the
slot's kind ({"NPU": 1} on Ascend, Ray's resource name for Ascend NPUs; one GPU on GPUs; one CPU
otherwise). A task runs the same attempt.grade_one as a local slot, on whichever machine Ray
picks, into a folder of that machine, and returns the student's output folder packed; the batch
unpacks it into its own folder and records it in the same gradebook, so resuming works as for
local slots. No more tasks are in flight than the cluster has devices, so a queued student is
never shown as running.

Ray is imported only here and only when `--executor ray` is used.
"""

from __future__ import annotations

import io
import shutil
import socket
import tarfile
import tempfile
import time
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


def grade_remotely(job_text: str, device: str, token: str) -> tuple[dict, bytes, str]:
    """The Ray task: grade one job on this node's device that Ray assigned, return (outcome,
    the output folder as a .tar.gz, this node's name)."""
    import ray  # on the Ray worker

    job = attempt.Job.from_json(job_text)
    kind = devices.parse(device).kind if device else "cpu"
    assigned = ray.get_runtime_context().get_accelerator_ids().get(RESOURCE.get(kind, ""), [])
    if kind != "cpu" and assigned:
        device = f"{kind}:{assigned[0]}"
    with tempfile.TemporaryDirectory(prefix="grade-ray-") as tmp:
        job.out = str(Path(tmp) / "out")
        outcome = attempt.grade_one(
            job, Slot(f"{socket.gethostname()} {device or 'default'}", device), token, Path(tmp) / "work", Path(tmp) / "worker.log"
        )
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            if Path(job.out).is_dir():
                tar.add(job.out, arcname=".")
            tar.add(Path(tmp) / "worker.log", arcname="worker.log")
    return asdict(outcome), buffer.getvalue(), f"{socket.gethostname()} {device or 'default'}"


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
    """Grade batch.to_grade as Ray tasks on the cluster at `address` (None: start a local one)."""
    try:
        import ray
    except ImportError:
        raise CannotGrade("--executor ray needs the ray package: pip install --no-deps -r requirements.lock") from None
    kind = devices.parse(slot.device).kind if slot.device else "cpu"
    name, options = task_resources(kind, resource)
    ray.init(address=address, log_to_driver=False, include_dashboard=False) if address else ray.init(
        log_to_driver=False, include_dashboard=False
    )
    remote = ray.remote(grade_remotely).options(max_retries=0, **options)
    waiting, pending = list(batch.to_grade), {}
    try:
        while waiting or pending:
            capacity = int(ray.cluster_resources().get(name, 0))
            if capacity < 1 and not pending:
                raise CannotGrade(f"the Ray cluster at {address or 'local'} has no {name} resource; start its nodes with it (see README)")
            while waiting and len(pending) < capacity:
                folder = waiting.pop(0)
                token = uuid.uuid4().hex
                shown = next(f"ray-{i}" for i in range(1, capacity + 1) if f"ray-{i}" not in {s for _, s in pending.values()})
                batch.begin(folder, f"ray {name}", token, "")
                display.started(batch.entry(folder).student, shown)
                pending[remote.remote(batch.job(folder).to_json(), slot.device, token)] = (folder, shown)
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            display.refresh()
            for ref in ready:
                folder, shown = pending.pop(ref)
                _finish(batch, folder, ref, shown, display, ray)
            time.sleep(0.05)
    except KeyboardInterrupt:
        display.say(f"stopping: cancelling the {len(pending)} running task(s) ...")
        for ref, (folder, shown) in pending.items():
            ray.cancel(ref, force=True)  # the task's worker dies; its grading gets SIGTERM and cleans up
            outcome = attempt.Outcome(ledger.INTERRUPTED, "stopped before it finished")
            record(batch, folder, outcome)
            display.finished(batch.entry(folder).student, shown, outcome)
        raise Interrupted from None
    finally:
        ray.shutdown()


def _finish(batch: Batch, folder: str, ref, shown: str, display: Display, ray) -> None:
    number = batch.book.row(folder)["attempts"]
    try:
        data, blob, node = ray.get(ref)
        _unpack(blob, batch.out / folder, batch.log(folder, number))
        written = any((batch.out / folder / name).is_file() for name in (files.SCORED, files.ERROR_FILE))
        outcome = attempt.read_outcome(batch.out / folder, 0, batch.log(folder, number)) if written else attempt.Outcome(**data)
        batch.book.update(folder, slot=f"ray {node}")
    except Exception as exc:  # the task failed (a node lost, an error of Ray): recorded, the class goes on
        outcome = attempt.Outcome(ledger.NOT_GRADED, f"grader error: the Ray task failed: {type(exc).__name__}: {exc}")
    record(batch, folder, outcome)
    display.finished(batch.entry(folder).student, shown, outcome)
