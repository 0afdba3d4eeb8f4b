"""Find the adapter a run saved and read it.

Adapters are found by their adapter_config.json, never by folder name (MindNLP 0.4 and 0.5
build folder names from enums that print differently). Two weight formats are read:
`adapter_model.safetensors` (MindNLP 0.5, Hugging Face PEFT) without importing the framework,
and `adapter_model.ckpt` (MindNLP 0.4, a MindSpore checkpoint) with mindspore.load_checkpoint,
its names mapped onto PEFT's. A full model saved where an adapter was expected is recognised.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.evidence.tensors import size

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
CKPT_WEIGHTS = "adapter_model.ckpt"  # MindNLP 0.4
UNSAFE_WEIGHTS = ("adapter_model.bin",)
FULL_MODEL_PATTERNS = ("model.safetensors", "model-*-of-*.safetensors", "pytorch_model.bin", "pytorch_model-*.bin", "*.ckpt")
MAX_ADAPTER_BYTES = 256 * 1024**2  # an IA3 adapter of RoBERTa-large is ~5 MB
SAFETENSORS_FORMAT, CKPT_FORMAT = "safetensors (MindNLP 0.5)", "MindSpore checkpoint (MindNLP 0.4)"


@dataclass
class Adapter:
    path: Path
    config: dict
    tensors: dict[str, np.ndarray] = field(repr=False)
    problem: str | None = None  # why the weights could not be read
    format: str | None = None  # which weights file was read
    renamed: dict[str, str] = field(default_factory=dict, repr=False)  # checkpoint name -> PEFT name

    @property
    def tensors_digest(self) -> str | None:
        """sha256 over the tensors (names, dtypes, shapes, values): the same adapter however it was
        saved again (file metadata, tensor order, safetensors or checkpoint). None without tensors."""
        if not self.tensors:
            return None
        h = hashlib.sha256()
        for name in sorted(self.tensors):
            array = np.ascontiguousarray(self.tensors[name])
            h.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
            h.update(array.tobytes())
        return h.hexdigest()

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


def peft_name(name: str) -> str:
    """A MindNLP 0.4 checkpoint name as PEFT's get_peft_model_state_dict would write it."""
    parts = [p for p in name.split(".") if p not in ("default", "modules_to_save")]
    if parts and parts[-1] in ("gamma", "beta"):  # MindSpore LayerNorm
        parts[-1] = "weight" if parts[-1] == "gamma" else "bias"
    mapped = ".".join(parts)
    return mapped if mapped.startswith("base_model.model.") else f"base_model.model.{mapped}"


def read_ckpt(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    import mindspore

    tensors, renamed = {}, {}
    for name, parameter in mindspore.load_checkpoint(str(path)).items():
        mapped = peft_name(name)
        tensors[mapped] = parameter.asnumpy()
        if mapped != name:
            renamed[name] = mapped
    return tensors, renamed


def read(folder: Path) -> Adapter:
    from safetensors.numpy import load_file

    try:
        config = json.loads((folder / CONFIG).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return Adapter(folder, {}, {}, f"{CONFIG} is not valid JSON: {exc}")
    weights = folder / WEIGHTS
    if weights.is_file():
        try:
            return Adapter(folder, config, load_file(str(weights)), format=SAFETENSORS_FORMAT)
        except Exception as exc:  # a corrupt file is the student's to fix, not a grader crash
            return Adapter(folder, config, {}, f"{WEIGHTS} could not be read: {exc}", SAFETENSORS_FORMAT)
    if (folder / CKPT_WEIGHTS).is_file():
        try:
            tensors, renamed = read_ckpt(folder / CKPT_WEIGHTS)
        except Exception as exc:
            return Adapter(
                folder, config, {}, f"{CKPT_WEIGHTS} is not a readable MindSpore checkpoint: {type(exc).__name__}: {exc}", CKPT_FORMAT
            )
        return Adapter(folder, config, tensors, format=CKPT_FORMAT, renamed=renamed)
    unsafe = [name for name in UNSAFE_WEIGHTS if (folder / name).is_file()]
    if unsafe:
        return Adapter(
            folder,
            config,
            {},
            f"weights saved as {unsafe[0]} (pickle), which the grader does not load; save with safe_serialization (the default)",
        )
    return Adapter(folder, config, {}, f"no {WEIGHTS} (MindNLP 0.5) or {CKPT_WEIGHTS} (MindNLP 0.4) beside {CONFIG}")


def for_evaluation(adapter: Adapter, dest: Path) -> Path:
    """A folder PEFT can load: the adapter itself, or a checkpoint converted to safetensors."""
    if adapter.format != CKPT_FORMAT:
        return adapter.path
    from safetensors.numpy import save_file

    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(adapter.path / CONFIG, dest / CONFIG)
    save_file({n: np.ascontiguousarray(t) for n, t in adapter.tensors.items()}, str(dest / WEIGHTS))
    return dest


def full_model_files(roots: list[Path]) -> list[Path]:
    """Weights files that are not an adapter's: a whole model saved instead of the adapter."""
    found: list[Path] = []
    for root in roots:
        if not root.is_dir():
            continue
        for pattern in FULL_MODEL_PATTERNS:
            found += [
                p
                for p in root.rglob(pattern)
                if p.is_file() and p.name != CKPT_WEIGHTS and not (p.parent / CONFIG).is_file() and p not in found
            ]
    return found


def describe_weights(path: Path) -> dict:
    """Tensor and parameter counts of a weights file, read from its header where possible."""
    info = {"file": path.name, "bytes": os.lstat(path).st_size}
    if not path.is_file() or path.is_symlink():
        return info | {"problem": "not a regular file; not read"}
    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="numpy") as handle:
                shapes = [handle.get_slice(k).get_shape() for k in handle.keys()]  # noqa: SIM118  (safe_open is not iterable)
        elif path.suffix == ".ckpt":
            if info["bytes"] > MAX_ADAPTER_BYTES:  # loading a checkpoint reads it whole
                return info | {"problem": f"over {MAX_ADAPTER_BYTES:,} bytes; not loaded to count its tensors"}
            import mindspore

            shapes = [list(p.shape) for p in mindspore.load_checkpoint(str(path)).values()]
        else:
            return info  # pickles are never loaded
    except Exception as exc:
        info["problem"] = f"{type(exc).__name__}: {exc}"
        return info
    info["tensors"] = len(shapes)
    info["parameters"] = sum(size(s) for s in shapes)
    return info


def weights_file(folder: Path) -> Path | None:
    """The weights file the grader reads beside an adapter_config.json, if any."""
    return next((folder / name for name in (WEIGHTS, CKPT_WEIGHTS, *UNSAFE_WEIGHTS) if (folder / name).exists()), None)


def unsafe_to_copy(folder: Path) -> str | None:
    """Why the run's adapter files must not be copied (a link, a FIFO, a device, too large), or None."""
    for name in (CONFIG, WEIGHTS, CKPT_WEIGHTS, *UNSAFE_WEIGHTS):
        path = folder / name
        if not os.path.lexists(path):
            continue
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            return f"{name} is not a regular file (a link, FIFO or device); the grader copies only plain files"
        if info.st_size > MAX_ADAPTER_BYTES:
            return f"{name} is {info.st_size:,} bytes, over the {MAX_ADAPTER_BYTES:,} an adapter may take"
    return None


def keep(folder: Path, dest: Path) -> Path:
    """Copy only the files the grader reads into the evidence folder (emptied first); call
    unsafe_to_copy first."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True, exist_ok=True)
    for name in (CONFIG, WEIGHTS, CKPT_WEIGHTS, *UNSAFE_WEIGHTS):
        if (folder / name).is_file():
            shutil.copyfile(folder / name, dest / name, follow_symlinks=False)
    return dest
