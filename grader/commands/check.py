"""`grade check SUBMISSION`: a quick answer for a student before the real grading.

First what the code says (code_reading.py, under a second), then a short run on the `tiny`
profile, offline and isolated as `grade` isolates a self-check (run/isolation.py: the sandbox,
or where bubblewrap cannot run none, saying so and what to install), stopped once the probe has
seen a few training steps: the probe snapshots every parameter (trainable flag and CRC-32) before each
training forward pass, so comparing the first and the last snapshot says which tensors the
training changed, that is, where gradients and the optimizer reached. Nothing is scored and no
output folder is written.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from grader.checks.naming import difference_parts, listing
from grader.commands import code_reading, progress
from grader.commands.code_reading import INFO, OK, PROBLEM, WARNING, Item
from grader.commands.selfcheck import COURSE_PROFILE, SELF_CHECK_PROFILE
from grader.course import calibration, data, model_files, profiles
from grader.errors import CannotGrade
from grader.evidence import probe_record, tensors
from grader.intake import sources, untrusted, workspace
from grader.run import devices, environment, execute, isolation

STEPS = 3
BUDGET = 90.0
MARKS = {OK: ("✓", "green"), PROBLEM: ("✗", "red"), WARNING: ("!", "yellow"), INFO: ("·", "dim")}
NOT_CHECKED = (
    "Not checked here: accuracy and F1 (random weights on tiny cannot learn MRPC; `grade` on the course profile "
    "measures them), the time on the real model, the saved adapter's contents, and the criteria the course withholds."
)


def show(out: Console, item: Item) -> None:
    mark, style = MARKS[item.status]
    if out.is_terminal:
        out.print(f"[{style}]{mark}[/] [bold]{escape(item.topic)}[/]: {escape(item.text)}")
    else:
        out.print(f"{mark} {item.topic}: {item.text}", markup=False)


def _snapshots_seen(probe_dir: Path) -> int:
    """The most training forward passes any snapshot so far was taken after (cheap: counts only)."""
    most = 0
    for path in probe_dir.glob("probe-*.jsonl") if probe_dir.is_dir() else []:
        for line in path.read_text(errors="replace").splitlines():
            if '"snapshot"' in line:
                try:
                    most = max(most, int(json.loads(line).get("train_forwards", 0)))
                except ValueError:
                    pass
    return most


def _group(name: str) -> str:
    if "ia3_l" in name:
        return "IA3 vectors"
    if ".classifier." in f".{name}" and "modules_to_save" in name:
        return "classifier head"
    return "other"


def judge_training(record: probe_record.ProbeRecord | None, expected: dict[str, list[int]], steps: int, failed: bool) -> list[Item]:
    """Which tensors changed between the model's creation and its last snapshot, against the
    reference's trainable set; and whether the trainable flags match it. A program that failed
    is reported by the caller, with its error."""
    if record is None or not record.models:
        return [] if failed else [Item(PROBLEM, "short run", "no PEFT model was built (get_peft_model) before the run ended")]
    model = record.main_model()
    done = model.train_forwards
    if done == 0:
        if failed:
            return [Item(INFO, "short run", "the PEFT model was built; the program failed before its first training step")]
        return [
            Item(PROBLEM, "short run", "the model was built but never ran a training forward pass (model.train(), then model(**batch))")
        ]
    changed = model.changed_since_creation()
    wanted = {g: len([e for e in expected if _group(e) == g]) for g in ("IA3 vectors", "classifier head")}
    moved = {g: [n for n in changed if _group(n) == g] for g in ("IA3 vectors", "classifier head", "other")}
    summary = f"after {done} training steps: " + ", ".join(f"{len(moved[g])} of {wanted[g]} {g}" for g in wanted) + " changed"
    items = []
    if moved["other"]:
        base = f"also {len(moved['other'])} base tensors changed: {listing(moved['other'])} (keep the base frozen)"
        items.append(Item(PROBLEM, "gradients", f"{summary}; {base}"))
    elif not moved["IA3 vectors"]:
        hint = "under MindNLP 0.5, loss.backward() computes no gradients: use torch.autograd.value_and_grad and apply them"
        items.append(Item(PROBLEM, "gradients", f"{summary}: the IA3 vectors did not move ({hint})"))
    elif len(moved["IA3 vectors"]) < wanted["IA3 vectors"] or not moved["classifier head"]:
        items.append(Item(WARNING, "gradients", f"{summary}: not everything that should train moved yet"))
    else:
        items.append(Item(OK, "gradients", f"{summary}, and nothing else: gradients reached the IA3 vectors and the head only"))
    trainable = model.trainable_ever()
    missing, extra, reshaped = tensors.differences(expected, trainable)
    if missing or extra or reshaped:
        parts = difference_parts(
            missing, extra, reshaped, expected, trainable, "{n} of the reference's never trainable", "{n} not in the reference"
        )
        items.append(Item(PROBLEM, "trainable", "trainable tensors differ from the reference's: " + "; ".join(parts)))
    else:
        items.append(Item(OK, "trainable", f"{len(expected)} trainable tensors, by name and shape as the reference's"))
    if done < steps:
        items.append(Item(INFO, "short run", f"the run ended after {done} of the {steps} steps watched"))
    return items


def _short_run(
    ws: workspace.Workspace, mrpc_arg: str | None, python: str | None, steps: int, budget: float, out: Console, requested: str | None
) -> list[Item]:
    chosen = isolation.decide(requested, self_check=True)  # the policy `grade` applies to a self-check
    profile = profiles.load(SELF_CHECK_PROFILE)
    mrpc = data.locate(mrpc_arg)
    expected = calibration.load_for(SELF_CHECK_PROFILE).structure.trainable_tensors
    shown = progress.for_terminal(out, f"short run on {SELF_CHECK_PROFILE}: stops after {steps} training steps or {budget:g} s")
    log = progress.scratch_log()
    private = Path(tempfile.mkdtemp(prefix="grade-check-"))
    try:
        with progress.library_output_to(log):
            shown.phase("model", f"{SELF_CHECK_PROFILE} base model")
            model_dir = model_files.ensure(profile, mrpc)
            request = execute.RunRequest(
                profile,
                model_dir,
                mrpc,
                devices.Device("cpu"),
                environment.interpreter(python, profile),
                budget,
                private / "logs",
                private / "probe-records",
                chosen,
            )
            request.extra_env = {"GRADER_PROBE_INTERVAL": "0"}  # a snapshot before every training step

            def watch(elapsed: float, logs: Path, probe: Path) -> bool:
                shown.running(elapsed, budget, logs)
                return _snapshots_seen(probe) >= steps

            request.watch = watch
            shown.phase("run", f"{ws.entry.name}, offline, {chosen.describe()}")
            started = time.monotonic()
            outcome = execute.run(ws, request, private)
            shown.finished()
        took = time.monotonic() - started
        record = probe_record.load(outcome.probe_dir)
        stderr = progress.tail(private / "logs" / "stderr.txt", 3)
        run = outcome.record
        failed = run.exit_code not in (0, None) and not run.stopped_early
        items = judge_training(record, expected, steps, failed)
        ending = (
            "stopped as planned"
            if run.stopped_early
            else "reached the time limit"
            if run.timed_out
            else f"exited with status {run.exit_code}"
        )
        items.append(Item(INFO, "short run", f"{took:.0f} s on the CPU, {ending}"))
        if chosen.mode != isolation.SANDBOX:
            items.append(Item(WARNING if chosen.mode == isolation.NONE else INFO, "short run", chosen.describe()))
        if failed:
            items.append(Item(PROBLEM, "short run", f"the program failed: {stderr[-1] if stderr else f'exit status {run.exit_code}'}"))
        return items
    finally:
        shown.finished()
        log.unlink(missing_ok=True)
        untrusted.remove_tree(private)  # a run's tree, however deep


def main(
    submission: str,
    mrpc_arg: str | None,
    python: str | None,
    steps: int,
    budget: float,
    static_only: bool,
    out: Console,
    requested_isolation: str | None = None,
) -> int:
    started = time.monotonic()
    course = calibration.load_for(COURSE_PROFILE).structure
    private = Path(tempfile.mkdtemp(prefix="grade-check-"))
    try:
        try:
            src = sources.fetch(submission, private / "source", None, None)
        except sources.Refused as exc:
            raise CannotGrade(f"submission refused: {exc}") from None
        ws = workspace.prepare(Path(src.path), private / "work")
        if ws.entry is None:
            items = [Item(PROBLEM, "entry point", ws.entry_problem or "no entry point")]
        else:
            items = [Item(OK, "entry point", f"{ws.entry.relative_to(ws.root)}")]
            items += code_reading.read(ws.root, ws.entry, course, profiles.load(COURSE_PROFILE).hub_names)
        for item in items:
            show(out, item)
        out.print(f"(static checks: {time.monotonic() - started:.1f} s)\n", markup=False, style="dim")
        if ws.entry is not None and not static_only:
            for item in _short_run(ws, mrpc_arg, python, steps, budget, out, requested_isolation):
                show(out, item)
                items.append(item)
        out.print(f"\n{NOT_CHECKED}", markup=False)
        return 1 if any(i.status == PROBLEM for i in items) else 0
    finally:
        untrusted.remove_tree(private)  # a run's tree, however deep
