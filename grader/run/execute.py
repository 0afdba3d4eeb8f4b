"""Run one prepared workspace: the student's data copy, the offline mapping, the device, the
sandbox and the budget. It returns where everything the run left lies; judging it is the
evidence stage's job."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import data
from grader.course.profiles import Profile
from grader.intake.workspace import Workspace
from grader.run import devices, environment, isolation, jail, notebook, offline, private_area, runner
from grader.run.inject import SITE_DIR
from grader.run.launch import LAUNCH_DIR, NOTEBOOK_RUNNER
from grader.run.layout import Layout
from grader.run.probe_channel import SOCKET_ENV, ProbeChannel

HOOKS = (offline.HOOK, "importorder", "cpu_compat", "probe")


@dataclass
class RunRequest:
    """Everything one run needs beyond the workspace."""

    profile: Profile
    model_dir: Path
    mrpc_dir: Path
    device: devices.Device
    python: str
    budget: float
    logs: Path  # where stdout and stderr are kept (inside the evidence folder)
    probe_records: Path  # where the probe's record is written as it arrives (inside the evidence folder)
    isolation: isolation.Isolation = field(default_factory=lambda: isolation.Isolation(isolation.SANDBOX, "the default"))
    watch: Callable[[float, Path, Path], bool] | None = None  # (elapsed, logs, probe dir) -> stop now?
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. a probe interval for `grade check`


@dataclass
class RunOutcome:
    """Where the run left its traces, inside the private folder (valid until it is removed)."""

    output_dir: Path  # $GRADER_OUTPUT_DIR
    probe_dir: Path  # the probe's record, as received by the grader
    notebook_dir: Path | None = None
    record: runner.RunRecord | None = None


def run(ws: Workspace, request: RunRequest, private: Path) -> RunOutcome:
    """Run the workspace's entry (nothing is run without one) in the sandbox, or with the
    profile's limits only (as a uid of its own in a container) when the request's isolation says
    so. `private` is the grading's private area."""
    profile = request.profile
    mode = request.isolation.mode
    layout = Layout.for_run(private, ws.root, request.model_dir, SITE_DIR, LAUNCH_DIR, sandboxed=mode == isolation.SANDBOX)
    outcome = RunOutcome(layout.host["output"], request.probe_records)
    if not ws.entry:
        return outcome
    files = data.write_student_copy(request.mrpc_dir, layout.host["data"], profile.train_limit)
    seen = {split: layout.to_inside(path) for split, path in files.items()}
    variables = environment.student_variables(profile, layout.inside("model"), seen, layout.inside("output"))
    hub = layout.host["home"] / ".cache" / "huggingface"
    variables.update(offline.prepare(layout.host["control"], hub, profile.hub_names, request.model_dir, seen, layout.to_inside))
    variables.update(devices.environment(request.device, Path(layout.inside("home"))))
    env = environment.student_env(private, variables, request.device.target, profile.seed, HOOKS, layout)
    env["PYTHONPATH"] = ":".join([env["PYTHONPATH"], *devices.extra_pythonpath(request.device)])
    channel = ProbeChannel(layout.host["control"] / "probe.sock", request.probe_records)
    env[SOCKET_ENV] = layout.to_inside(channel.path)
    env.update(request.extra_env)
    box = environment.sandbox_for(profile, request.device)
    python, cell, run_as = request.python, None, None
    if mode == isolation.CONTAINER and os.geteuid() == 0:
        run_as = jail.run_uid()
        runner.open_to_run_user(private, layout, run_as)
    if mode == isolation.SANDBOX:
        python, readable = jail.interpreter_dirs(request.python)
        readable += [d for d in jail.runtime_dirs(request.device.kind) if d not in readable]
        device_root = os.environ.get("GRADER_DEVICE_ROOT", "/dev")
        shown = jail.device_files(request.device.kind, request.device.ids, device_root)
        cell = jail.Jail(layout, readable, shown, box.isolate_network, box.disk_bytes or 1024**3, None if os.geteuid() else jail.run_uid())
    command = None
    if ws.entry.suffix == ".ipynb":
        outcome.notebook_dir = layout.host["notebook"]
        runner_path = f"{layout.inside('launch')}/{NOTEBOOK_RUNNER.name}"
        command = notebook.command(python, layout.to_inside(ws.entry), layout.inside("notebook"), runner_path)
    watch = (lambda elapsed: request.watch(elapsed, request.logs, outcome.probe_dir)) if request.watch else None
    with channel:  # closed once every process of the run has ended
        outcome.record = runner.run_script(ws.entry, ws.root, env, request.budget, request.logs, python, box, command, watch, cell, run_as)
    if outcome.record.isolation is not None:
        outcome.record.isolation["disk"] = private_area.describe(private)
        outcome.record.isolation |= {"mode": mode, "why": request.isolation.why}
    return outcome
