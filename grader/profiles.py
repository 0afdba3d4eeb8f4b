"""Model profiles: TOML files in reference/profiles/ that say everything the grader must know
about one base model (where its files are, sequence length, budget, threshold rule)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CannotGrade
from .paths import PROFILES_DIR, cache_dir


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    source: str  # "generated" (built by the grader) or "local" (files supplied by the user)
    max_length: int
    budget_seconds: float
    device: str
    seed: int
    epochs: int
    train_limit: int | None
    tolerance: dict[str, float]
    min_margin_over_majority: float
    generate: dict = field(default_factory=dict)
    dir_env: str | None = None
    config_file: Path | None = None
    hub_names: tuple[str, ...] = ()
    reference_metrics: dict | None = None
    model_dir_override: Path | None = None
    python: str | None = None  # interpreter for student code ([run] python); default: the grader's
    sandbox: dict = field(default_factory=dict)  # [sandbox]: memory_gb, processes, file_gb, output_mb, isolate_network
    test_limit: int | None = None  # held-out test pairs the grader evaluates (None: all)

    def model_dir(self) -> Path:
        """The local directory holding config, weights and tokenizer."""
        if self.model_dir_override:
            return self.model_dir_override
        if self.source == "generated":
            return cache_dir() / "models" / self.name
        value = os.environ.get(self.dir_env or "")
        if not value:
            raise CannotGrade(
                f"profile {self.name!r} needs a local copy of the model: pass --model-dir DIR or set "
                f"{self.dir_env} to a directory holding config.json, the weights and the tokenizer files"
            )
        return Path(value)

    def ensure_model(self) -> Path:
        """Return the model directory, generating it first for generated profiles."""
        if self.source == "generated":
            from .tiny_model import ensure_tiny_model

            return ensure_tiny_model(self)
        path = self.model_dir()
        if not (path / "config.json").is_file():
            raise CannotGrade(f"model directory {path} has no config.json (profile {self.name!r})")
        return path


def available() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def load(name: str, model_dir: str | Path | None = None) -> Profile:
    path = PROFILES_DIR / f"{name}.toml"
    if not path.is_file():
        raise CannotGrade(f"unknown profile {name!r}; available: {', '.join(available())}")
    data = tomllib.loads(path.read_text())
    model, run, thresholds = data["model"], data["run"], data["thresholds"]
    config = model.get("config")
    return Profile(
        name=data["name"],
        description=data.get("description", ""),
        source=model["source"],
        max_length=int(model["max_length"]),
        budget_seconds=float(run["budget_seconds"]),
        device=run.get("device", "CPU"),
        seed=int(run.get("seed", 42)),
        epochs=int(run.get("epochs", 1)),
        train_limit=run.get("train_limit"),
        tolerance=dict(thresholds["tolerance"]),
        min_margin_over_majority=float(thresholds["min_margin_over_majority"]),
        generate=dict(model.get("generate", {})),
        dir_env=model.get("dir_env"),
        config_file=(PROFILES_DIR / config) if config else None,
        hub_names=tuple(model.get("hub_names", ())),
        reference_metrics=data.get("reference_metrics"),
        model_dir_override=Path(model_dir).resolve() if model_dir else None,
        python=run.get("python"),
        sandbox=dict(data.get("sandbox", {})),
        test_limit=run.get("test_limit"),
    )
