"""Collect one run's evidence before its private folder is removed: the adapter it saved (kept
in the evidence folder), the probe's record, the notebook's record, known causes of failure, and
the grader's own evaluation of the adapter."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from grader.course.profiles import Profile
from grader.evidence import adapter as adapter_io
from grader.evidence import diagnose, evaluation, training_rows
from grader.evidence.evaluator import AdapterFailed, Evaluator, EvaluatorGone
from grader.evidence.findings import Findings, read_logs
from grader.evidence.record import ADAPTER_DIR, LOGS_DIR, Evidence
from grader.intake.handed_in import digest
from grader.intake.workspace import Workspace
from grader.run import devices, notebook
from grader.run.execute import RunOutcome

OUTPUT_LABEL, SUBMISSION_LABEL = "$GRADER_OUTPUT_DIR", "submission folder"


def collect(ev: Evidence, ws: Workspace, outcome: RunOutcome, evidence_dir: Path) -> tuple[str, str]:
    """Fill `ev` with what the run left (nothing is judged here); returns the run's stdout and
    stderr, read once for the diagnoses and the checks."""
    ev.run = outcome.record
    if outcome.record is None:
        return "", ""
    ev.probe_dir = str(outcome.probe_dir) if any(outcome.probe_dir.glob("probe-*.jsonl")) else None
    if outcome.notebook_dir:
        ev.notebook = notebook.read(outcome.notebook_dir)
        executed = outcome.notebook_dir / notebook.EXECUTED
        if executed.is_file():
            shutil.copy2(executed, evidence_dir / LOGS_DIR / notebook.EXECUTED)
    stdout, stderr = read_logs(ev)
    ev.diagnoses = diagnose.diagnose(
        stderr, outcome.record.exit_code, outcome.record.timed_out, notebook.summary(ev.notebook, outcome.record.timed_out)
    )
    ev.cpu_compatibility = diagnose.cpu_compatibility(stderr)
    _collect_adapter(ev, {OUTPUT_LABEL: outcome.output_dir, SUBMISSION_LABEL: ws.root}, evidence_dir, ws.handed_in)
    return stdout, stderr


def _collect_adapter(ev: Evidence, roots: dict[str, Path], evidence_dir: Path, handed_in: dict[str, str]) -> None:
    """The newest adapter this run wrote; ones handed in with the submission (same content,
    wherever the run put them) and ones unsafe to copy are named and ignored."""
    ev.searched = [f"{label} and below" for label in roots]

    def shown(folder: Path) -> str:
        for label, root in roots.items():
            if folder.is_relative_to(root):
                rel = folder.relative_to(root).as_posix()
                return label if rel == "." else f"{label}/{rel}"
        return str(folder)

    usable = []
    for folder in adapter_io.find(list(roots.values())):
        reason = adapter_io.unsafe_to_copy(folder)
        weights = adapter_io.weights_file(folder)
        original = handed_in.get(digest(weights)) if reason is None and weights is not None else None
        if original:
            reason = f"identical to {original} as handed in: an adapter in the submission is not this run's training"
        if reason:
            ev.ignored_adapters.append({"path": shown(folder), "reason": reason})
        else:
            usable.append(folder)
    if usable:
        ev.adapter_found_at = shown(usable[0])
        ev.other_adapters = [shown(f) for f in usable[1:]]
        ev.adapter_dir = str(adapter_io.keep(usable[0], evidence_dir / ADAPTER_DIR))
    elif not ev.ignored_adapters:
        files = adapter_io.full_model_files(list(roots.values()))
        ev.full_models = [adapter_io.describe_weights(p) | {"path": shown(p.parent) + "/" + p.name} for p in files]


def evaluate(
    ev: Evidence,
    profile: Profile,
    model_dir: Path,
    mrpc_dir: Path,
    evidence_dir: Path,
    device: devices.Device,
    logs: tuple[str, str],
    evaluator: Evaluator | None = None,
) -> Findings:
    """Read the kept adapter once, measure it on validation (the student sees it) and the
    held-out test split (the instructor does), and return everything the checks need."""
    adapter = adapter_io.read(Path(ev.adapter_dir)) if ev.adapter_dir else None
    if adapter is not None and adapter.problem is None:
        folder = adapter_io.for_evaluation(adapter, evidence_dir / "adapter-converted")
        _evaluate(ev, folder, profile, model_dir, mrpc_dir, device, evaluator)
    findings = Findings.build(ev, adapter, *logs)
    ev.training_rows = training_rows.measure(findings.record, model_dir, mrpc_dir, profile.train_limit)
    return findings


def _evaluate(
    ev: Evidence, folder: Path, profile: Profile, model_dir: Path, mrpc_dir: Path, device: devices.Device, evaluator: Evaluator | None
) -> None:
    """Through the long-lived evaluator when there is one; afresh in a child process when there
    is none or it is gone (and the evidence says which)."""
    try:
        if evaluator is not None:
            try:
                answer = evaluator.evaluate(folder, timeout=profile.budget_seconds)
                ev.evaluated_by = f"the grader's evaluator (process {answer.pid}, base model loaded once)"
                measured, test_error = answer.measured, answer.unavailable.get("test")
            except EvaluatorGone as exc:
                ev.evaluated_by = f"a fresh evaluation, because the grader's evaluator was gone: {exc}"
                evaluator = None
        if evaluator is None:
            ev.evaluated_by = ev.evaluated_by or "a fresh evaluation"
            splits, test_error = evaluation.splits_for(mrpc_dir, profile.test_limit)
            with tempfile.TemporaryDirectory(prefix="grade-device-") as scratch:
                env = devices.environment(device, Path(scratch))
                measured = evaluation.evaluate_isolated(
                    model_dir, folder, splits, profile.max_length, profile.seed, env, profile.budget_seconds
                )
    except Exception as exc:  # an adapter that does not fit the base model (AdapterFailed, or the fresh process's error)
        ev.evaluation_error = str(exc) if isinstance(exc, AdapterFailed) else f"{type(exc).__name__}: {exc}"
        return
    ev.test_evaluation_error = test_error
    ev.evaluation = measured["validation"]
    ev.test_evaluation = measured.get("test")
