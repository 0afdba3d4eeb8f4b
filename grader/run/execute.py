"""Run one prepared workspace: the student's data copy, the offline mapping, the device, the
sandbox and the budget. It returns where everything the run left lies; judging it is the
evidence stage's job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.course import data
from grader.course.profiles import Profile
from grader.intake.workspace import Workspace
from grader.run import devices, environment, notebook, offline, runner
from grader.run.probe_channel import SOCKET_ENV, ProbeChannel

GRADER_DIR = Path(__file__).resolve().parent.parent
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
    hide: tuple[Path, ...] = ()  # grader paths the run must not read
    watch: Callable[[float, Path, Path], bool] | None = None  # (elapsed, logs, probe dir) -> stop now?
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. a probe interval for `grade check`


@dataclass
class RunOutcome:
    """Where the run left its traces, inside the private folder (valid until it is removed)."""

    output_dir: Path  # $GRADER_OUTPUT_DIR
    probe_dir: Path  # the probe's record, as received by the grader
    notebook_dir: Path | None = None
    record: runner.RunRecord | None = None
    hidden: dict = field(default_factory=dict)


def run(ws: Workspace, request: RunRequest, private: Path) -> RunOutcome:
    """Run the workspace's entry (nothing is run without one) under the profile's sandbox."""
    profile = request.profile
    output = private / "output"
    output.mkdir()
    outcome = RunOutcome(output, request.probe_records)
    if not ws.entry:
        return outcome
    files = data.write_student_copy(request.mrpc_dir, private / "data", profile.train_limit)
    variables = environment.student_variables(profile, request.model_dir, files, output)
    variables.update(offline.prepare(private, private / "home" / ".cache" / "huggingface", profile.hub_names, request.model_dir, files))
    variables.update(devices.environment(request.device, private))
    env = environment.student_env(private, variables, request.device.target, profile.seed, HOOKS)
    env["PYTHONPATH"] = ":".join([env["PYTHONPATH"], *devices.extra_pythonpath(request.device)])
    channel = ProbeChannel(private / "probe.sock", request.probe_records)
    env[SOCKET_ENV] = str(channel.path)
    env.update(request.extra_env)
    python = Path(request.python)
    needed = [private, request.model_dir, GRADER_DIR, python.absolute().parent.parent, python.resolve().parent.parent]
    box, outcome.hidden = environment.sandbox_for(profile, request.device, [request.mrpc_dir, *request.hide], needed, request.model_dir)
    command = None
    if ws.entry.suffix == ".ipynb":
        outcome.notebook_dir = private / "notebook"
        command = notebook.command(request.python, ws.entry, outcome.notebook_dir)
    watch = (lambda elapsed: request.watch(elapsed, request.logs, outcome.probe_dir)) if request.watch else None
    with channel:  # closed once every process of the run has ended
        outcome.record = runner.run_script(
            ws.entry, ws.root, env, request.budget, request.logs, request.python, sandbox=box, command=command, watch=watch
        )
    return outcome
