"""The course model's own tensors, fingerprinted exactly as the probe fingerprints a model's
parameters (CRC-32 of the tensor's bytes in the dtype the run holds it in), so that the base a
student's PEFT model was built on can be compared with the model the course hands out.

Read from the profile's model folder (its *.safetensors files) once per folder and kept in the
grader's cache, keyed by the files' names, sizes and modification times.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.paths import cache_dir

CACHE_VERSION = 1
SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}
DTYPES = ("float32", "float16")  # the dtypes a course model is commonly held in; others are not compared
PEFT_PREFIXES = ("base_model.model.",)
WRAPPERS = (".base_layer.", ".original_module.")  # where PEFT keeps the wrapped layer's own weights (IA3 and LoRA; the head it copies)
MODEL_PREFIX = "roberta."  # a checkpoint of the bare encoder has no prefix; one of a task model has it
RENAMED = ((".gamma", ".weight"), (".beta", ".bias"))  # old LayerNorm names transformers renames on load


@dataclass
class CourseModel:
    """CRC-32s per tensor and dtype, by the tensor's name with the model prefix removed."""

    model_dir: str
    tensors: dict[str, dict[str, str]] = field(default_factory=dict)
    shapes: dict[str, list[int]] = field(default_factory=dict)
    problem: str | None = None  # why there is nothing to compare with

    def to_dict(self) -> dict:
        return {"model_dir": self.model_dir, "tensors": self.tensors, "shapes": self.shapes, "problem": self.problem}

    @classmethod
    def from_dict(cls, data: dict) -> CourseModel:
        return cls(str(data["model_dir"]), dict(data.get("tensors", {})), dict(data.get("shapes", {})), data.get("problem"))

    def fingerprint(self, observed: str, shape: tuple[int, ...], dtype: str) -> str | None:
        """The course's CRC-32 of the tensor a PEFT model calls `observed`, in `dtype` as the
        probe writes it ("torch.float32", "Float32"); None when the course model has no such tensor
        of that shape or dtype (the classifier head is initialised at random: not in the files)."""
        key = course_name(observed)
        kind = dtype_kind(dtype)
        if key not in self.tensors or kind is None or tuple(self.shapes.get(key, ())) != tuple(shape):
            return None
        return self.tensors[key].get(kind)


def course_name(name: str) -> str:
    """A parameter's name without PEFT's prefix and wrapper, without the model prefix, with the
    LayerNorm names of current transformers."""
    for prefix in PEFT_PREFIXES:
        name = name.removeprefix(prefix)
    for wrapper in WRAPPERS:
        name = name.replace(wrapper, ".")
    for old, new in RENAMED:
        if name.endswith(old):
            name = name[: -len(old)] + new
    return name.removeprefix(MODEL_PREFIX)


def dtype_kind(dtype: str) -> str | None:
    lowered = dtype.lower()
    if "bfloat16" in lowered:
        return None
    return next((kind for kind in DTYPES if kind in lowered), None)


def crc(array: np.ndarray) -> str:
    """As the probe: CRC-32 of the C-contiguous bytes."""
    return f"{zlib.crc32(memoryview(np.ascontiguousarray(array)).cast('B')):08x}"


def _weights(model_dir: Path) -> list[Path]:
    return sorted(p for p in model_dir.glob("*.safetensors") if p.is_file())


def _key(model_dir: Path, files: list[Path]) -> str:
    stats = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    return hashlib.sha256(json.dumps([CACHE_VERSION, str(model_dir.resolve()), stats]).encode()).hexdigest()[:32]


def _tensors(path: Path):
    """(name, array) of a safetensors file, mapped from disk: the file is the course's own, and
    read without the framework (MindNLP patches safetensors' loaders in the grader's process)."""
    with open(path, "rb") as handle:
        length = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(length))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length)
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] not in SAFETENSORS_DTYPES:
            continue
        start, end = entry["data_offsets"]
        yield name, data[start:end].view(SAFETENSORS_DTYPES[entry["dtype"]]).reshape(entry["shape"])


def compute(model_dir: Path) -> CourseModel:
    """Fingerprints of every float tensor of the model folder's safetensors files."""
    model_dir = Path(model_dir)
    found = CourseModel(str(model_dir))
    files = _weights(model_dir)
    if not files:
        found.problem = f"the course model in {model_dir} has no *.safetensors weights to compare with"
        return found
    for path in files:
        for name, array in _tensors(path):
            key = course_name(name)
            found.shapes[key] = [int(d) for d in array.shape]
            found.tensors[key] = {kind: crc(array.astype(kind)) for kind in DTYPES}
    return found


def load(model_dir: Path) -> CourseModel:
    """The course model's fingerprints, from the cache when the files have not changed."""
    model_dir = Path(model_dir)
    try:
        files = _weights(model_dir)
        cached = cache_dir() / "course-fingerprints" / f"{_key(model_dir, files)}.json"
    except OSError as exc:
        return CourseModel(str(model_dir), problem=f"the course model in {model_dir} could not be read: {exc}")
    if cached.is_file():
        try:
            return CourseModel.from_dict(json.loads(cached.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # computed again below
    try:
        found = compute(model_dir)
    except Exception as exc:  # a broken weights file: say so, never stop the grading
        return CourseModel(str(model_dir), problem=f"the course model's weights could not be read: {type(exc).__name__}: {exc}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    staging = cached.with_suffix(f".{os.getpid()}.tmp")
    staging.write_text(json.dumps(found.to_dict()))
    os.replace(staging, cached)
    return found
