"""`grade calibrate`: run the reference solution and store what the checks compare against.

The structure (parameter counts, trainable tensors, target modules) comes from building the
model from its config and applying the reference's IA3 config, so it needs no weights. The
metrics come from running the reference like a submission and measuring its adapter with the
grader's own evaluation; where the profile's model cannot be trained here, from the cited runs
in the profile. Thresholds follow the profile's rule, never a hand-typed number.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path

from grader import pipeline
from grader.course import data, model_files
from grader.course.calibration import Calibration, Metrics, ReferenceRun, Structure, Thresholds
from grader.course.mindnlp_env import load
from grader.course.profiles import Profile
from grader.course.versions import versions
from grader.errors import CannotGrade
from grader.evidence import adapter as adapter_io
from grader.evidence import metrics, tensors
from grader.paths import PROFILES_DIR, REFERENCE_DIR

REFERENCE_SCRIPT = REFERENCE_DIR / "ia3_mrpc.py"


def reference_module():
    spec = importlib.util.spec_from_file_location("reference_ia3_mrpc", REFERENCE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config_path(profile: Profile, mrpc_dir: Path | None) -> Path:
    if profile.source == "generated":
        return model_files.ensure(profile, mrpc_dir) / "config.json"
    try:
        local = profile.model_dir() / "config.json"
        if local.is_file():
            return local
    except CannotGrade:
        pass
    if profile.config_file and profile.config_file.is_file():
        return profile.config_file
    raise CannotGrade(f"profile {profile.name!r} has no config.json to build the model from")


def _describe(config: Path) -> str:
    """A machine-independent name for where the config came from."""
    if config.is_relative_to(PROFILES_DIR):
        return f"reference/profiles/{config.name}"
    return "config.json of the profile's model directory"


def structure(profile: Profile, mrpc_dir: Path | None = None) -> Structure:
    """Build the model from its config, apply the reference IA3 config, and read it back. Only
    names and shapes are read, so the base's weights are left uninitialised (drawing RoBERTa-large's
    355 M random values is most of the build)."""
    torch, transformers, peft = load()
    config_path = _config_path(profile, mrpc_dir)
    config_data = json.loads(config_path.read_text())
    config_data["num_labels"] = 2
    config = transformers.AutoConfig.for_model(**config_data)
    torch.manual_seed(0)
    with transformers.modeling_utils.no_init_weights():
        base = transformers.AutoModelForSequenceClassification.from_config(config)
    model = peft.get_peft_model(base, reference_module().peft_config())
    trainable, total = model.get_nb_trainable_parameters()
    peft_config = model.peft_config["default"]
    adapter_tensors = {name: list(t.shape) for name, t in sorted(peft.get_peft_model_state_dict(model).items())}
    if tensors.total(adapter_tensors) != trainable:
        raise RuntimeError("the reference adapter's saved tensors do not add up to its trainable parameters")
    return Structure(
        config_source=_describe(config_path),
        peft_type=str(getattr(peft_config.peft_type, "value", peft_config.peft_type)),
        task_type=str(getattr(peft_config.task_type, "value", peft_config.task_type)),
        target_modules=sorted(peft_config.target_modules),
        feedforward_modules=sorted(peft_config.feedforward_modules),
        trainable_parameters=int(trainable),
        all_parameters=int(total),
        ia3_vector_parameters=tensors.total({n: s for n, s in adapter_tensors.items() if n.endswith("ia3_l")}),
        trainable_tensors={n: list(p.shape) for n, p in model.named_parameters() if p.requires_grad},
        adapter_tensors=adapter_tensors,
    )


def thresholds(profile: Profile, reached: Metrics, baseline: Metrics) -> Thresholds:
    """Threshold = reference metric - tolerance; informational when the reference cannot beat
    the majority-class baseline by the profile's margin (then the metric carries no signal)."""
    margin = profile.min_margin_over_majority
    return Thresholds(
        accuracy=round(reached.accuracy - profile.tolerance["accuracy"], 4),
        f1=round(reached.f1 - profile.tolerance["f1"], 4),
        informational=reached.accuracy < baseline.accuracy + margin,
        rule=(
            f"reference metric minus tolerance {profile.tolerance}; informational when the reference "
            f"accuracy is below the majority baseline + {margin}"
        ),
    )


def calibrate(profile: Profile, mrpc_dir: Path, train: bool, work_dir: Path) -> Calibration:
    validation = data.load_split(mrpc_dir, "validation")
    baseline = Metrics(**metrics.majority_baseline([r["label"] for r in validation]))
    if train:
        evidence = pipeline.run_and_measure(REFERENCE_SCRIPT, profile, mrpc_dir, work_dir, profile.budget_seconds).evidence
        if not evidence.evaluation:
            raise CannotGrade(f"the reference run produced no measurable adapter: {evidence.summary()}")
        reached = Metrics(evidence.evaluation["accuracy"], evidence.evaluation["f1"])
        run = ReferenceRun(
            reached,
            "measured by grade calibrate",
            evidence.run.wall_seconds,
            evidence.evaluation["positive_rate"],
            adapter_io.read(Path(evidence.adapter_dir)).tensors_digest,
        )
    elif profile.reference_metrics:
        reached = Metrics(float(profile.reference_metrics["accuracy"]), float(profile.reference_metrics["f1"]))
        run = ReferenceRun(reached, profile.reference_metrics.get("source", "profile"))
    else:
        raise CannotGrade(f"profile {profile.name!r} cites no reference metrics; calibrate it with training")
    return Calibration(
        profile.name,
        datetime.now(UTC).isoformat(timespec="seconds"),
        versions(),
        structure(profile, mrpc_dir),
        baseline,
        run,
        thresholds(profile, reached, baseline),
    )
