"""Model profiles: TOML files in reference/profiles/ that say everything the grader must know
about one base model (where its files are, sequence length, budget, threshold rule).

Every table is read into a typed record; a key the grader does not know is an error naming the
file and the key, so a misspelt setting never passes silently.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from grader.errors import CannotGrade
from grader.paths import PROFILES_DIR, cache_dir

GiB = 1024**3


@dataclass(frozen=True)
class SandboxSettings:
    """[sandbox]: limits for the student's run; unset keys keep the sandbox's defaults."""

    memory_gb: float | None = None
    processes: int | None = None
    file_gb: float | None = None
    disk_gb: float | None = None  # all the run writes (its private area, /dev/shm)
    open_files: int | None = None
    output_mb: float | None = None
    isolate_network: bool = True


@dataclass(frozen=True)
class GenerateSettings:
    """[model.generate]: the shape and seed of a generated (random-weight) model."""

    seed: int
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int


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
    generate: GenerateSettings | None = None
    dir_env: str | None = None
    config_file: Path | None = None
    hub_names: tuple[str, ...] = ()
    reference_metrics: dict | None = None
    model_dir_override: Path | None = None
    python: str | None = None  # interpreter for student code ([run] python); default: the grader's
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
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


KNOWN_TABLES = {
    "": {"name", "description", "model", "run", "thresholds", "reference_metrics", "sandbox"},
    "model": {"source", "dir_env", "config", "hub_names", "max_length", "generate"},
    "run": {"budget_seconds", "device", "epochs", "seed", "train_limit", "test_limit", "python"},
    "thresholds": {"tolerance", "min_margin_over_majority"},
    "sandbox": {f.name for f in fields(SandboxSettings)},
    "model.generate": {f.name for f in fields(GenerateSettings)},
}


def available() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def _unknown_keys(data: dict, path: Path) -> list[str]:
    problems = []
    for table, known in KNOWN_TABLES.items():
        values = data
        for part in filter(None, table.split(".")):
            values = values.get(part, {}) if isinstance(values, dict) else {}
        for key in sorted(set(values) - known) if isinstance(values, dict) else []:
            hint = difflib.get_close_matches(key, sorted(known), n=1)
            where = f"[{table}] " if table else ""
            problems.append(
                f"{path}: {where}unknown key {key!r}"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + f" (known: {', '.join(sorted(known))})"
            )
    return problems


def load(name: str, model_dir: str | Path | None = None) -> Profile:
    path = PROFILES_DIR / f"{name}.toml"
    if not path.is_file():
        known = available()
        if not known:
            raise CannotGrade(
                f"no profiles in {PROFILES_DIR}: $GRADER_HOME, when set, must hold reference/profiles/, rubrics/ and templates/"
            )
        hint = difflib.get_close_matches(name, known, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        raise CannotGrade(f"unknown profile {name!r}{suggestion} (available: {', '.join(known)})")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise CannotGrade(f"{path}: not valid TOML: {exc}") from None
    problems = _unknown_keys(data, path)
    if problems:
        raise CannotGrade("invalid profile:\n  " + "\n  ".join(problems))
    model, run, thresholds = data["model"], data["run"], data["thresholds"]
    config = model.get("config")
    generate = model.get("generate")
    try:
        settings = (GenerateSettings(**generate) if generate else None, SandboxSettings(**data.get("sandbox", {})))
    except TypeError as exc:
        raise CannotGrade(f"{path}: {exc}") from None
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
        generate=settings[0],
        dir_env=model.get("dir_env"),
        config_file=(PROFILES_DIR / config) if config else None,
        hub_names=tuple(model.get("hub_names", ())),
        reference_metrics=data.get("reference_metrics"),
        model_dir_override=Path(model_dir).resolve() if model_dir else None,
        python=run.get("python"),
        sandbox=settings[1],
        test_limit=run.get("test_limit"),
    )
