"""Find the adapter a run saved and read it without importing the framework.

Adapters are found by their adapter_config.json, never by folder name (MindNLP 0.4 and 0.5
build folder names from enums that print differently).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
UNSAFE_WEIGHTS = ("adapter_model.bin",)


@dataclass
class Adapter:
    path: Path
    config: dict
    tensors: dict[str, np.ndarray] = field(repr=False)
    problem: str | None = None  # why the weights could not be read

    @property
    def peft_type(self) -> str:
        return str(self.config.get("peft_type", "")).split(".")[-1].upper()

    @property
    def task_type(self) -> str:
        return str(self.config.get("task_type", "")).split(".")[-1].upper()

    def module_list(self, key: str) -> list[str]:
        value = self.config.get(key) or []
        return sorted([value] if isinstance(value, str) else value)

    def shapes(self) -> dict[str, list[int]]:
        return {name: list(t.shape) for name, t in sorted(self.tensors.items())}

    def parameter_count(self) -> int:
        return int(sum(t.size for t in self.tensors.values()))


def find(roots: list[Path]) -> list[Path]:
    """Folders holding adapter_config.json under the roots, first root first, newest first."""
    found: list[Path] = []
    for root in roots:
        if not root.is_dir():
            continue
        here = sorted((p.parent for p in root.rglob(CONFIG)), key=lambda d: (d / CONFIG).stat().st_mtime, reverse=True)
        found += [d for d in here if d not in found]
    return found


def read(folder: Path) -> Adapter:
    from safetensors.numpy import load_file

    try:
        config = json.loads((folder / CONFIG).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return Adapter(folder, {}, {}, f"{CONFIG} is not valid JSON: {exc}")
    weights = folder / WEIGHTS
    if weights.is_file():
        try:
            return Adapter(folder, config, load_file(str(weights)))
        except Exception as exc:  # a corrupt file is the student's to fix, not a grader crash
            return Adapter(folder, config, {}, f"{WEIGHTS} could not be read: {exc}")
    unsafe = [name for name in UNSAFE_WEIGHTS if (folder / name).is_file()]
    if unsafe:
        return Adapter(folder, config, {}, f"weights saved as {unsafe[0]} (pickle), which the grader does not load; save with safe_serialization (the default)")
    return Adapter(folder, config, {}, f"no {WEIGHTS} beside {CONFIG}")


def keep(folder: Path, dest: Path) -> Path:
    """Copy only the files the grader reads into the evidence folder."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in (CONFIG, WEIGHTS, *UNSAFE_WEIGHTS):
        if (folder / name).is_file():
            shutil.copy2(folder / name, dest / name)
    return dest
