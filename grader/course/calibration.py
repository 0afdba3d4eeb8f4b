"""The stored truth of one profile (reference/calibration/PROFILE.json) as typed records.

`grade calibrate` (commands/calibrate.py) writes it; checks and scoring read it. Every reader
goes through these records, so a key is spelled in one place.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.errors import CannotGrade
from grader.paths import CALIBRATION_DIR

METRICS = ("accuracy", "f1")


def _metric(record, metric: str) -> float:
    """Accuracy or F1 of a record that holds both; any other name is a KeyError."""
    if metric not in METRICS:
        raise KeyError(metric)
    return getattr(record, metric)


@dataclass(frozen=True)
class Metrics:
    accuracy: float
    f1: float
    positive_rate: float | None = None

    def value(self, metric: str) -> float:
        return _metric(self, metric)

    @classmethod
    def from_dict(cls, data: dict) -> Metrics:
        return cls(float(data["accuracy"]), float(data["f1"]), data.get("positive_rate"))


@dataclass(frozen=True)
class Thresholds:
    accuracy: float
    f1: float
    informational: bool  # the reference cannot beat the majority class: metrics carry no signal
    rule: str = ""

    def value(self, metric: str) -> float:
        return _metric(self, metric)

    def reached(self, metric: str, measured: float) -> bool:
        """The one comparison of a measured metric with its threshold (checks, reports, summary)."""
        return measured >= self.value(metric)


@dataclass(frozen=True)
class ReferenceRun:
    """What the reference solution reached, and where that number comes from."""

    metrics: Metrics
    source: str  # "measured by grade calibrate", or the citation of a run elsewhere
    wall_seconds: float | None = None  # measured runs only
    positive_rate: float | None = None
    adapter_tensors_sha256: str | None = None  # the reference adapter's Adapter.tensors_digest (measured runs only)

    @classmethod
    def from_dict(cls, data: dict) -> ReferenceRun:
        return cls(
            Metrics.from_dict(data["metrics"]),
            data["source"],
            data.get("wall_seconds"),
            data.get("positive_rate"),
            data.get("adapter_tensors_sha256"),
        )


@dataclass(frozen=True)
class Structure:
    """The reference adapter's shape: what the trainable-set and count checks compare with."""

    config_source: str  # the config.json the model was built from
    peft_type: str  # IA3
    task_type: str  # SEQ_CLS
    target_modules: list[str]
    feedforward_modules: list[str]
    trainable_parameters: int  # IA3 vectors plus the classifier head
    all_parameters: int  # trainable plus the frozen base
    ia3_vector_parameters: int
    trainable_tensors: dict[str, list[int]]  # names as the PEFT model holds them (with `.default`)
    adapter_tensors: dict[str, list[int]]  # names as save_pretrained writes them


@dataclass(frozen=True)
class Standard:
    """What a submission's metrics are measured against; stored with every judgement so that
    re-scoring (partial credit) uses the numbers the checks used."""

    thresholds: Thresholds
    majority_baseline: Metrics | None
    reference: ReferenceRun
    created: str | None = None

    @classmethod
    def from_dict(cls, data: dict) -> Standard:
        return cls(
            Thresholds(**data["thresholds"]),
            Metrics.from_dict(data["majority_baseline"]) if data.get("majority_baseline") else None,
            ReferenceRun.from_dict(data["reference"]),
            data.get("created"),
        )


@dataclass(frozen=True)
class Calibration:
    profile: str
    created: str
    versions: dict[str, str]
    structure: Structure
    majority_baseline: Metrics
    reference_run: ReferenceRun
    thresholds: Thresholds

    @property
    def standard(self) -> Standard:
        return Standard(self.thresholds, self.majority_baseline, self.reference_run, self.created)

    def to_dict(self) -> dict:
        data = asdict(self)
        run = data["reference_run"]
        run["metrics"] = {k: v for k, v in run["metrics"].items() if v is not None}
        data["reference_run"] = {k: v for k, v in run.items() if v is not None}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        return cls(
            profile=data["profile"],
            created=data["created"],
            versions=dict(data.get("versions", {})),
            structure=Structure(**data["structure"]),
            majority_baseline=Metrics.from_dict(data["majority_baseline"]),
            reference_run=ReferenceRun.from_dict(data["reference_run"]),
            thresholds=Thresholds(**data["thresholds"]),
        )


def path_for(profile_name: str) -> Path:
    return CALIBRATION_DIR / f"{profile_name}.json"


def save(calibration: Calibration, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(calibration.to_dict(), indent=2) + "\n")
    return path


def load(path: Path) -> Calibration:
    try:
        return Calibration.from_dict(json.loads(Path(path).read_text()))
    except (KeyError, TypeError, ValueError) as exc:
        raise CannotGrade(f"{path} is not a calibration record ({type(exc).__name__}: {exc}); run grade calibrate again") from exc


def load_for(profile_name: str) -> Calibration:
    path = path_for(profile_name)
    if not path.is_file():
        raise CannotGrade(f"no calibration for profile {profile_name!r} at {path}; run: grade calibrate --profile {profile_name}")
    return load(path)
