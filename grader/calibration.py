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
import platform
from datetime import datetime, timezone
from pathlib import Path

from . import data, metrics
from .errors import CannotGrade
from .mindnlp_env import load
from .paths import CALIBRATION_DIR, PROFILES_DIR, REFERENCE_DIR
from .profiles import Profile

REFERENCE_SCRIPT = REFERENCE_DIR / "ia3_mrpc.py"


def reference_module():
    spec = importlib.util.spec_from_file_location("reference_ia3_mrpc", REFERENCE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("mindspore", "mindnlp", "transformers", "peft"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def _config_path(profile: Profile) -> Path:
    if profile.source == "generated":
        return profile.ensure_model() / "config.json"
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


def structure(profile: Profile) -> dict:
    """Build the model from its config, apply the reference IA3 config, and read it back."""
    torch, transformers, peft = load()
    reference = reference_module()
    config_data = json.loads(_config_path(profile).read_text())
    config_data["num_labels"] = 2
    config = transformers.AutoConfig.for_model(**config_data)
    torch.manual_seed(0)
    model = peft.get_peft_model(transformers.AutoModelForSequenceClassification.from_config(config), reference.peft_config())
    trainable, total = model.get_nb_trainable_parameters()
    peft_config = model.peft_config["default"]
    adapter_tensors = {name: list(t.shape) for name, t in sorted(peft.get_peft_model_state_dict(model).items())}
    ia3 = sum(_size(s) for n, s in adapter_tensors.items() if n.endswith("ia3_l"))
    if sum(_size(s) for s in adapter_tensors.values()) != trainable:
        raise RuntimeError("the reference adapter's saved tensors do not add up to its trainable parameters")
    return {
        "config_source": _describe(_config_path(profile)),
        "peft_type": str(getattr(peft_config.peft_type, "value", peft_config.peft_type)),
        "task_type": str(getattr(peft_config.task_type, "value", peft_config.task_type)),
        "target_modules": sorted(peft_config.target_modules),
        "feedforward_modules": sorted(peft_config.feedforward_modules),
        "trainable_parameters": int(trainable),
        "all_parameters": int(total),
        "ia3_vector_parameters": int(ia3),
        "trainable_tensors": {n: list(p.shape) for n, p in model.named_parameters() if p.requires_grad},
        "adapter_tensors": adapter_tensors,
    }


def _size(shape: list[int]) -> int:
    size = 1
    for dim in shape:
        size *= dim
    return size


def thresholds(profile: Profile, reached: dict, baseline: dict) -> dict:
    """Threshold = reference metric - tolerance; informational when the reference cannot beat
    the majority-class baseline by the profile's margin (then the metric carries no signal)."""
    margin = profile.min_margin_over_majority
    return {
        "accuracy": round(reached["accuracy"] - profile.tolerance["accuracy"], 4),
        "f1": round(reached["f1"] - profile.tolerance["f1"], 4),
        "informational": reached["accuracy"] < baseline["accuracy"] + margin,
        "rule": (
            f"reference metric minus tolerance {profile.tolerance}; informational when the reference "
            f"accuracy is below the majority baseline + {margin}"
        ),
    }


def calibrate(profile: Profile, mrpc_dir: Path, train: bool, work_dir: Path) -> dict:
    from .pipeline import run_and_measure

    validation = data.load_split(mrpc_dir, "validation")
    baseline = metrics.majority_baseline([r["label"] for r in validation])
    result = {
        "profile": profile.name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "structure": structure(profile),
        "majority_baseline": baseline,
    }
    if train:
        evidence = run_and_measure(REFERENCE_SCRIPT, profile, mrpc_dir, work_dir, profile.budget_seconds)
        if not evidence.evaluation:
            raise CannotGrade(f"the reference run produced no measurable adapter: {evidence.summary()}")
        reached = {k: evidence.evaluation[k] for k in ("accuracy", "f1")}
        result["reference_run"] = {
            "metrics": reached,
            "source": "measured by grade calibrate",
            "wall_seconds": evidence.run.wall_seconds,
            "positive_rate": evidence.evaluation["positive_rate"],
        }
    elif profile.reference_metrics:
        reached = {k: float(profile.reference_metrics[k]) for k in ("accuracy", "f1")}
        result["reference_run"] = {"metrics": reached, "source": profile.reference_metrics.get("source", "profile")}
    else:
        raise CannotGrade(f"profile {profile.name!r} cites no reference metrics; calibrate it with training")
    result["thresholds"] = thresholds(profile, reached, baseline)
    return result


def path_for(profile_name: str) -> Path:
    return CALIBRATION_DIR / f"{profile_name}.json"


def save(calibration: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(calibration, indent=2) + "\n")
    return path


def load_for(profile: Profile) -> dict:
    path = path_for(profile.name)
    if not path.is_file():
        raise CannotGrade(f"no calibration for profile {profile.name!r} at {path}; run: grade calibrate --profile {profile.name}")
    return json.loads(path.read_text())
