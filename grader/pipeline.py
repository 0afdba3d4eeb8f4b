"""One submission from source to outputs: private copy, run, evidence, checks, results files."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from . import adapter as adapter_io
from . import calibration, checks, data, evaluation, outputs, parameters, runner, scoring, submitted, workspace
from . import rubric as rubric_io
from .evidence import Evidence
from .profiles import Profile
from .results import GradingResult
from .rubric import Rubric

LOG_EXCERPT_LINES = 40


def _student_variables(profile: Profile, model_dir: Path, files: dict[str, Path], output: Path) -> dict[str, str]:
    """The documented contract between the grader and a submission (see README)."""
    return {
        "GRADER_MODEL_DIR": str(model_dir),
        "GRADER_DATA_DIR": str(files["train"].parent),
        "GRADER_TRAIN_FILE": str(files["train"]),
        "GRADER_VALIDATION_FILE": str(files["validation"]),
        "GRADER_OUTPUT_DIR": str(output),
        "GRADER_MAX_LENGTH": str(profile.max_length),
        "GRADER_EPOCHS": str(profile.epochs),
        "GRADER_SEED": str(profile.seed),
    }


def _collect_adapter(ev: Evidence, roots: dict[str, Path], evidence_dir: Path) -> None:
    found = adapter_io.find(list(roots.values()))
    ev.searched = [f"{label} and below" for label in roots]

    def shown(folder: Path) -> str:
        for label, root in roots.items():
            if folder.is_relative_to(root):
                rel = folder.relative_to(root).as_posix()
                return label if rel == "." else f"{label}/{rel}"
        return str(folder)

    if found:
        ev.adapter_found_at = shown(found[0])
        ev.other_adapters = [shown(f) for f in found[1:]]
        ev.adapter_dir = str(adapter_io.keep(found[0], evidence_dir / "adapter"))


def run_and_measure(submission: Path, profile: Profile, mrpc_dir: Path, evidence_dir: Path, budget: float, python: str | None = None) -> Evidence:
    """Run the submission on a private copy and collect the facts; judges nothing."""
    model_dir = profile.ensure_model()
    evidence_dir.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        ws = workspace.prepare(Path(submission), private / "work")
        files = data.write_student_copy(mrpc_dir, private / "data", profile.train_limit)
        output = private / "output"
        output.mkdir()
        ev = Evidence(str(submission), ws.entry.name if ws.entry else None, ws.entry_problem, None, "$GRADER_OUTPUT_DIR")
        if ws.entry:
            env = runner.student_env(private, _student_variables(profile, model_dir, files, output), profile.device, profile.seed)
            ev.run = runner.run_script(ws.entry, ws.root, env, budget, evidence_dir / "logs")
            _collect_adapter(ev, {"$GRADER_OUTPUT_DIR": output, "submission folder": ws.root}, evidence_dir)
        if ev.adapter_dir and adapter_io.read(Path(ev.adapter_dir)).problem is None:
            try:
                rows = data.load_split(mrpc_dir, "validation")
                ev.evaluation = evaluation.evaluate(model_dir, Path(ev.adapter_dir), rows, profile.max_length, profile.seed)
            except Exception as exc:  # an adapter that does not fit the base model
                ev.evaluation_error = f"{type(exc).__name__}: {exc}"
        ev.save(evidence_dir)
        return ev
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _log_excerpt(ev: Evidence) -> str:
    if not ev.run:
        return ""
    lines: list[str] = []
    for path in (ev.run.stdout_path, ev.run.stderr_path):
        if Path(path).is_file():
            lines += Path(path).read_text(errors="replace").splitlines()
    return "\n".join(lines[-LOG_EXCERPT_LINES:])


def judge(ev: Evidence, calib: dict, profile: Profile, execution_time: float) -> GradingResult:
    measurements = {
        "trainable_parameters_expected": calib["structure"]["trainable_parameters"],
        "wall_seconds": ev.run.wall_seconds if ev.run else None,
        "timed_out": ev.run.timed_out if ev.run else False,
        "exit_code": ev.run.exit_code if ev.run else None,
        "adapter_found_at": ev.adapter_found_at,
    }
    if ev.adapter_dir:
        adapter = adapter_io.read(Path(ev.adapter_dir))
        measurements["trainable_parameters"] = adapter.parameter_count()
    measurements["parameter_groups"] = parameters.groups(calib["structure"], adapter.shapes() if ev.adapter_dir else None)
    if ev.evaluation:
        measurements.update({f"validation_{k}": v for k, v in ev.evaluation.items()})
    environment = {
        "versions": calibration.versions(),
        "device": profile.device,
        "seed": profile.seed,
        "budget_seconds": ev.run.budget_seconds if ev.run else profile.budget_seconds,
        "calibration_created": calib.get("created"),
        "reference_metrics": calib["reference_run"]["metrics"],
        "majority_baseline": calib.get("majority_baseline"),
        "reference_source": calib["reference_run"]["source"],
        "thresholds": {k: calib["thresholds"][k] for k in ("accuracy", "f1", "informational")},
    }
    return GradingResult(ev.submission, profile.name, checks.judge(ev, calib), execution_time, measurements, environment, _log_excerpt(ev))


def write_outputs(result: GradingResult, out_dir: Path, rubric: Rubric | None = None,
                  submitted_at: str | None = None, time_source: str = "unknown") -> scoring.ScoredResult:
    """Score the judgement with the rubric (default: rubrics/default.yaml) and write every output."""
    scored = scoring.score(result, rubric or rubric_io.load(), submitted_at, time_source)
    outputs.write_all(scored, out_dir)
    return scored


def grade(submission: Path, profile: Profile, mrpc_dir: Path, out_dir: Path, budget: float | None = None,
          rubric: Rubric | None = None, submitted_at: str | None = None) -> scoring.ScoredResult:
    rubric = rubric or rubric_io.load()  # a broken rubric stops before any training
    calib = calibration.load_for(profile)
    when, source = submitted.determine(submission, submitted_at)
    started = time.monotonic()
    ev = run_and_measure(submission, profile, mrpc_dir, out_dir / "evidence", budget or profile.budget_seconds)
    result = judge(ev, calib, profile, time.monotonic() - started)
    return write_outputs(result, out_dir, rubric, when, source)
