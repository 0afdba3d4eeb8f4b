"""Collect one run's evidence before its private folder is removed: the adapter it saved (kept
in the evidence folder), the probe's record, the notebook's record, known causes of failure, and
the grader's own evaluation of the adapter."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from grader.course.profiles import Profile
from grader.evidence import adapter as adapter_io
from grader.evidence import adapter_limits, diagnose, evaluation, training_rows
from grader.evidence.evaluator import AdapterFailed, EvaluationTimedOut, Evaluator, EvaluatorGone
from grader.evidence.findings import Findings, read_logs
from grader.evidence.record import ADAPTER_DIR, LOGS_DIR, Evidence
from grader.intake import untrusted
from grader.intake.handed_in import digest
from grader.intake.workspace import Workspace
from grader.run import devices, notebook
from grader.run.execute import RunOutcome

OUTPUT_LABEL, SUBMISSION_LABEL = "$GRADER_OUTPUT_DIR", "submission folder"
MAX_CANDIDATES = 16  # adapters copied and compared
MAX_CONFIG_BYTES = 1024**2


def collect(ev: Evidence, ws: Workspace, outcome: RunOutcome, evidence_dir: Path) -> tuple[str, str]:
    """Fill `ev` with what the run left (nothing is judged here); returns the run's stdout and
    stderr, read once for the diagnoses and the checks."""
    ev.run = outcome.record
    if outcome.record is None:
        return "", ""
    ev.probe_dir = str(outcome.probe_dir) if any(outcome.probe_dir.glob("probe-*.jsonl")) else None
    kept_notebook = None
    if outcome.notebook_dir:
        ev.notebook = notebook.read(outcome.notebook_dir)
        kept_notebook = _keep_executed(outcome.notebook_dir, evidence_dir / LOGS_DIR)
    stdout, stderr = read_logs(ev)
    ev.diagnoses = diagnose.diagnose(
        stderr, outcome.record.exit_code, outcome.record.timed_out, notebook.summary(ev.notebook, outcome.record.timed_out)
    )
    if kept_notebook:
        ev.diagnoses.append(kept_notebook)
    ev.cpu_compatibility = diagnose.cpu_compatibility(stderr)
    _collect_adapter(ev, {OUTPUT_LABEL: outcome.output_dir, SUBMISSION_LABEL: ws.root}, evidence_dir, ws.handed_in)
    return stdout, stderr


def _keep_executed(folder: Path, logs: Path) -> str | None:
    """Copy the executed notebook into the logs from a descriptor (never through a link the
    run planted); returns why it was not kept, or None."""
    try:
        untrusted.copy(folder, notebook.EXECUTED, logs / notebook.EXECUTED, notebook.MAX_EXECUTED_BYTES)
    except untrusted.Missing:
        return None
    except untrusted.Unreadable as exc:
        (logs / notebook.EXECUTED).unlink(missing_ok=True)
        return f"the executed notebook was not kept: {exc}"
    return None


def _collect_adapter(ev: Evidence, roots: dict[str, Path], evidence_dir: Path, handed_in: dict[str, str]) -> None:
    """The newest adapter this run wrote; ones handed in with the submission (same content,
    wherever the run put them) and ones unsafe to copy are named and ignored. Each candidate is
    first copied from descriptors into the evidence folder; everything after reads that copy."""
    listings = {label: untrusted.walk(root) for label, root in roots.items()}
    ev.searched = [f"{label} and below" + (f" (stopped: {seen.stopped})" if seen.stopped else "") for label, seen in listings.items()]

    def shown(label: str, relative: PurePosixPath) -> str:
        return label if str(relative) == "." else f"{label}/{relative}"

    staging = evidence_dir / "adapter-candidates"
    shutil.rmtree(staging, ignore_errors=True)
    usable: list[tuple[str, Path]] = []
    candidates = [(label, folder) for label, found in listings.items() for folder in adapter_io.find(found)]
    for number, (label, folder) in enumerate(candidates):
        if number >= MAX_CANDIDATES:
            ev.ignored_adapters.append({"path": shown(label, folder), "reason": f"more than {MAX_CANDIDATES} adapters; not looked at"})
            continue
        copy = staging / str(number)
        reason = adapter_io.keep(roots[label], folder, copy)
        weights = adapter_io.weights_file(copy) if reason is None else None
        original = handed_in.get(digest(weights)) if weights is not None else None
        if original:
            reason = f"identical to {original} as handed in: an adapter in the submission is not this run's training"
        if reason:
            ev.ignored_adapters.append({"path": shown(label, folder), "reason": reason})
        else:
            usable.append((shown(label, folder), copy))
    if usable:
        ev.adapter_found_at = usable[0][0]
        ev.other_adapters = [where for where, _ in usable[1:]]
        kept = evidence_dir / ADAPTER_DIR
        shutil.rmtree(kept, ignore_errors=True)
        os.replace(usable[0][1], kept)
        ev.adapter_dir = str(kept)
    elif not ev.ignored_adapters:
        ev.full_models = [
            adapter_io.describe_weights(roots[label], path) | {"path": shown(label, path)}
            for label, found in listings.items()
            for path in adapter_io.full_model_files(found)
        ]
    shutil.rmtree(staging, ignore_errors=True)


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
    is none or it is gone (and the evidence says which). A config PEFT must not read is refused
    first; an evaluation past the evaluator's deadline is the adapter's failure, with the
    config's patterns named."""
    config = _config(folder)
    refused = adapter_limits.problem(config)
    if refused:
        ev.evaluation_error = f"the adapter's config was not evaluated: {refused}"
        return
    try:
        if evaluator is not None:
            try:
                answer = evaluator.evaluate(folder, timeout=profile.budget_seconds)
                ev.evaluated_by = f"the grader's evaluator (process {answer.pid}, base model loaded once)"
                measured, test_error = answer.measured, answer.unavailable.get("test")
            except EvaluationTimedOut as exc:
                patterns = adapter_limits.regex_fields(config)
                ev.evaluated_by = "the grader's evaluator, stopped at its deadline and replaced for the next student"
                ev.evaluation_error = f"the adapter's config made evaluation exceed {exc.deadline:.0f} s" + (
                    f": {', '.join(patterns)} is a regular expression PEFT matches against every module name, and a pattern "
                    "that backtracks can run for ever; list the module names instead"
                    if patterns
                    else ""
                )
                return
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


def _config(folder: Path) -> dict:
    """The adapter_config.json the evaluation would read (the grader's converted copy)."""
    try:
        config = untrusted.read_json(folder, adapter_io.CONFIG, MAX_CONFIG_BYTES)
    except untrusted.Unreadable:
        return {}  # PEFT fails on it too, with its own message
    return config if isinstance(config, dict) else {}
