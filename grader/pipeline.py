"""One submission from source to outputs: private copy, run, evidence, checks, results files."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import adapter as adapter_io
from . import calibration, checks, claims, data, devices, diagnose, evaluation, evidence_checks, notebook, offline, outputs, parameters, probe_record, runner, sandbox, scoring, sources, submitted, workspace
from . import rubric as rubric_io
from .errors import CannotGrade
from .evidence import Evidence
from .profiles import Profile
from .results import GradingResult
from .rubric import Rubric

GRADER_DIR = Path(__file__).resolve().parent
HOOKS = (offline.HOOK, "importorder", "probe")


@dataclass
class RunOptions:
    """How to fetch and run one submission, beyond the profile (command-line options)."""

    ref: str | None = None  # git branch, tag or commit
    before: str | None = None  # git: the last commit before this date-time
    device: str | None = None  # cpu | gpu | ascend[:ids]; default: the profile's
    device_ids: str | None = None
    python: str | None = None  # the student's interpreter; default: the profile's, else the grader's
    hide: tuple[str, ...] = field(default_factory=tuple)  # more grader paths the run must not read

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
    else:
        ev.full_models = [adapter_io.describe_weights(p) | {"path": shown(p.parent) + "/" + p.name} for p in adapter_io.full_model_files(list(roots.values()))]


def _keep_probe_record(source: Path, evidence_dir: Path) -> str | None:
    files = sorted(source.glob("probe-*.jsonl")) if source.is_dir() else []
    if not files:
        return None
    dest = evidence_dir / "probe"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for path in files:
        shutil.copy2(path, dest / path.name)
    return str(dest)


def _evaluate(ev: Evidence, profile: Profile, model_dir: Path, mrpc_dir: Path, evidence_dir: Path, device: devices.Device) -> None:
    """Validation (the student sees it) and the held-out test split (the instructor does)."""
    adapter = adapter_io.read(Path(ev.adapter_dir))
    if adapter.problem is not None:
        return
    splits = {"validation": data.load_split(mrpc_dir, "validation")}
    try:
        test = data.load_split(mrpc_dir, "test")[: profile.test_limit or None]
        if any(row["label"] not in (0, 1) for row in test):
            raise CannotGrade(f"{mrpc_dir} holds GLUE's public test split, whose labels are hidden (-1); use a copy with the corpus labels")
        splits["test"] = test
    except CannotGrade as exc:
        ev.test_evaluation_error = f"no labelled test split: {exc}"
    try:
        folder = adapter_io.for_evaluation(adapter, evidence_dir / "adapter-converted")
        if device.kind == "cpu":
            measured = evaluation.evaluate_splits(model_dir, folder, splits, profile.max_length, profile.seed)
        else:  # on the device the training used, in a process of the grader's own
            with tempfile.TemporaryDirectory(prefix="grade-device-") as scratch:
                env = devices.environment(device, Path(scratch))
                measured = evaluation.evaluate_isolated(model_dir, folder, splits, profile.max_length, profile.seed, env, profile.budget_seconds)
    except Exception as exc:  # an adapter that does not fit the base model
        ev.evaluation_error = f"{type(exc).__name__}: {exc}"
        return
    ev.evaluation = measured["validation"]
    ev.test_evaluation = measured.get("test")


def _interpreter(options: RunOptions, python: str | None, profile: Profile) -> str:
    chosen = options.python or python or profile.python or sys.executable
    found = shutil.which(chosen)
    if not found:
        raise CannotGrade(f"student interpreter {chosen!r} not found; pass --python PATH or set python in the profile's [run]")
    return chosen if Path(chosen).is_absolute() else found


def _sandbox(profile: Profile, device: devices.Device, hidden: list[Path], needed: list[Path], model_dir: Path) -> tuple[sandbox.Sandbox, dict]:
    """The profile's [sandbox] settings; device runtimes reserve address space, so no memory cap on them."""
    cfg, gib = profile.sandbox, sandbox.GiB
    default = sandbox.Sandbox()
    hide, kept = sandbox.safe_to_hide(hidden, needed)
    memory = int(float(cfg["memory_gb"]) * gib) if "memory_gb" in cfg else default.memory_bytes
    box = sandbox.Sandbox(
        memory_bytes=memory if device.kind == "cpu" else None,
        processes=int(cfg.get("processes", default.processes)),
        file_bytes=int(float(cfg["file_gb"]) * gib) if "file_gb" in cfg else default.file_bytes,
        output_bytes=int(float(cfg["output_mb"]) * 1024**2) if "output_mb" in cfg else default.output_bytes,
        isolate_network=bool(cfg.get("isolate_network", True)),
        hide=tuple(hide),
        read_only=(str(model_dir.resolve()),),
    )
    return box, {"masked": hide, "not_masked": kept}


def _prepare_source(submission: str, private: Path, options: RunOptions) -> tuple[workspace.Workspace, sources.Source | None]:
    try:
        src = sources.fetch(submission, private / "source", options.ref, options.before)
    except sources.Refused as exc:
        return workspace.Workspace(private / "work", None, f"submission refused: {exc}"), None
    return workspace.prepare(Path(src.path), private / "work"), src


def run_and_measure(submission, profile: Profile, mrpc_dir: Path, evidence_dir: Path, budget: float, python: str | None = None,
                    options: RunOptions | None = None) -> Evidence:
    """Run the submission on a private copy and collect the facts; judges nothing."""
    evidence_dir = Path(evidence_dir).absolute()  # recorded paths must not depend on the current directory
    options = options or RunOptions()
    model_dir = profile.ensure_model()
    device = devices.check(devices.parse(options.device or profile.device, options.device_ids))  # before anything runs
    python = _interpreter(options, python, profile)
    evidence_dir.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        ws, src = _prepare_source(str(submission), private, options)
        files = data.write_student_copy(mrpc_dir, private / "data", profile.train_limit)
        output = private / "output"
        output.mkdir()
        ev = Evidence(str(submission), ws.entry.name if ws.entry else None, ws.entry_problem, None, "$GRADER_OUTPUT_DIR",
                      source=src.to_dict() if src else None, device=device.describe())
        if ws.entry:
            hf_home = private / "home" / ".cache" / "huggingface"
            variables = _student_variables(profile, model_dir, files, output)
            variables.update(offline.prepare(private, hf_home, profile.hub_names, model_dir, files))
            variables.update(devices.environment(device, private))
            env = runner.student_env(private, variables, device.target, profile.seed, HOOKS)
            env["PYTHONPATH"] = ":".join([env["PYTHONPATH"], *devices.extra_pythonpath(device)])
            local = Path(str(submission)).expanduser()
            hidden = [mrpc_dir, evidence_dir.parent, evidence_dir.parent.parent, *map(Path, options.hide)]
            if local.exists():
                hidden += [local, local.absolute().parent]
            needed = [private, model_dir, GRADER_DIR, Path(python).absolute().parent.parent, Path(python).resolve().parent.parent]
            box, ev.hidden = _sandbox(profile, device, hidden, needed, model_dir)
            nb_dir = private / "notebook"
            command = notebook.command(python, ws.entry, nb_dir) if ws.entry.suffix == ".ipynb" else None
            env["GRADER_PROBE_DIR"] = str(private / "probe")  # outside the student's workspace
            ev.run = runner.run_script(ws.entry, ws.root, env, budget, evidence_dir / "logs", python, sandbox=box, command=command)
            ev.probe_dir = _keep_probe_record(private / "probe", evidence_dir)
            if command:
                ev.notebook = notebook.read(nb_dir)
                if (nb_dir / notebook.EXECUTED).is_file():
                    shutil.copy2(nb_dir / notebook.EXECUTED, evidence_dir / "logs" / notebook.EXECUTED)
            stderr = Path(ev.run.stderr_path).read_text(errors="replace")
            ev.diagnoses = diagnose.diagnose(stderr, ev.run.exit_code, ev.run.timed_out,
                                             notebook.summary(ev.notebook, ev.run.timed_out))
            _collect_adapter(ev, {"$GRADER_OUTPUT_DIR": output, "submission folder": ws.root}, evidence_dir)
        if ev.adapter_dir:
            _evaluate(ev, profile, model_dir, mrpc_dir, evidence_dir, device)
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
        "source": ev.source,
    }
    adapter = adapter_io.read(Path(ev.adapter_dir)) if ev.adapter_dir else None
    record = probe_record.load(Path(ev.probe_dir)) if ev.probe_dir else None
    if adapter:
        measurements["trainable_parameters"] = adapter.parameter_count()
        measurements["adapter_format"] = adapter.format
    measurements["parameter_groups"] = parameters.groups(calib["structure"], adapter.shapes() if ev.adapter_dir else None)
    if ev.evaluation:
        measurements.update({f"validation_{k}": v for k, v in ev.evaluation.items()})
    if ev.test_evaluation:  # instructor only: "test_" measurements stay out of student outputs
        measurements.update({f"test_{k}": v for k, v in ev.test_evaluation.items()})
    claimed = claims.final(claims.parse(evidence_checks.read_logs(ev)))
    measurements.update({f"claimed_{metric}": claim.value for metric, claim in claimed.items()})
    main_model = record.main_model() if record else None
    if main_model and main_model.losses:
        measurements["loss_curve"] = main_model.losses  # observed by the probe, one per training step
    environment = {
        "versions": calibration.versions(),
        "device": ev.device or profile.device,
        "isolation": ev.run.isolation if ev.run else None,
        "hidden_paths": ev.hidden,
        "seed": profile.seed,
        "budget_seconds": ev.run.budget_seconds if ev.run else profile.budget_seconds,
        "calibration_created": calib.get("created"),
        "reference_metrics": calib["reference_run"]["metrics"],
        "majority_baseline": calib.get("majority_baseline"),
        "reference_source": calib["reference_run"]["source"],
        "thresholds": {k: calib["thresholds"][k] for k in ("accuracy", "f1", "informational")},
        "evaluation": f"eval mode, no gradients, seed {profile.seed}, batches of {evaluation.BATCH_SIZE} sorted by length",
    }
    found = checks.judge(ev, calib, record, adapter)
    return GradingResult(ev.submission, profile.name, found, execution_time, measurements, environment, _log_excerpt(ev), evidence_checks.facts(ev, record, adapter))


def write_outputs(result: GradingResult, out_dir: Path, rubric: Rubric | None = None,
                  submitted_at: str | None = None, time_source: str = "unknown") -> scoring.ScoredResult:
    """Score the judgement with the rubric (default: rubrics/default.yaml) and write every output."""
    scored = scoring.score(result, rubric or rubric_io.load(), submitted_at, time_source)
    outputs.write_all(scored, out_dir)
    return scored


def grade(submission, profile: Profile, mrpc_dir: Path, out_dir: Path, budget: float | None = None,
          options: RunOptions | None = None, rubric: Rubric | None = None,
          submitted_at: str | None = None, student: str = "") -> scoring.ScoredResult:
    rubric = rubric or rubric_io.load()  # a broken rubric stops before any training
    calib = calibration.load_for(profile)
    started = time.monotonic()
    ev = run_and_measure(submission, profile, mrpc_dir, out_dir / "evidence", budget or profile.budget_seconds, options=options)
    result = judge(ev, calib, profile, time.monotonic() - started)
    result.student = student
    committed = (ev.source or {}).get("committed")
    if committed and not submitted_at:  # a git source: the date of the commit graded
        when, source = committed, f"date of commit {ev.source['commit'][:7]}"
    else:
        when, source = submitted.determine(submission, submitted_at)
    return write_outputs(result, out_dir, rubric, when, source)
