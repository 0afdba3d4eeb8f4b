"""Find the adapter a run saved and read it.

Adapters are found by their adapter_config.json, never by folder name (MindNLP 0.4 and 0.5
build folder names from enums that print differently). Two weight formats are read:
`adapter_model.safetensors` (MindNLP 0.5, Hugging Face PEFT) without importing the framework,
and `adapter_model.ckpt` (MindNLP 0.4, a MindSpore checkpoint) by weights_files, its names mapped
onto PEFT's; neither framework's loader ever sees a student's file, and every file is read
through intake.untrusted (no links, regular files only, sizes capped). A full model saved where an adapter was expected is recognised.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

import numpy as np

from grader.evidence import weights_files
from grader.evidence.tensors import size
from grader.intake import untrusted

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
CKPT_WEIGHTS = "adapter_model.ckpt"  # MindNLP 0.4
UNSAFE_WEIGHTS = ("adapter_model.bin",)
FULL_MODEL_PATTERNS = ("model.safetensors", "model-*-of-*.safetensors", "pytorch_model.bin", "pytorch_model-*.bin", "*.ckpt")
MAX_ADAPTER_BYTES = 64 * 1024**2  # an IA3 adapter of RoBERTa-large, with its head, is ~5 MB
MAX_CONFIG_BYTES = 1024**2
MAX_FULL_MODEL_BYTES = 64 * 1024**3  # described from the header only
MAX_DESCRIBED = 20  # full-model files described
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


# How the grader chooses among several adapters (collect's order of roots, find's order within
# each, less those collect ignores), as reports state it.
CHOICE_RULE = (
    "the grader grades one adapter: the first found in $GRADER_OUTPUT_DIR, then in the submission folder, the newest "
    "adapter_config.json first within each, leaving out adapters handed in with the submission and ones unsafe to copy"
)


def find(listing: untrusted.Listing) -> list[PurePosixPath]:
    """Folders (below the walked root) holding an adapter_config.json, newest first (CHOICE_RULE); one
    that is a link, FIFO or device is found too, so that keep() can say why it is not taken."""
    configs = [e for e in listing.entries if e.path.name == CONFIG and e.kind != "folder"]
    return [e.path.parent for e in sorted(configs, key=lambda e: e.mtime, reverse=True)]


def peft_name(name: str) -> str:
    """A MindNLP 0.4 checkpoint name as PEFT's get_peft_model_state_dict would write it."""
    parts = [p for p in name.split(".") if p not in ("default", "modules_to_save")]
    if parts and parts[-1] in ("gamma", "beta"):  # MindSpore LayerNorm
        parts[-1] = "weight" if parts[-1] == "gamma" else "bias"
    mapped = ".".join(parts)
    return mapped if mapped.startswith("base_model.model.") else f"base_model.model.{mapped}"


def read_ckpt(data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """A MindSpore checkpoint's tensors under PEFT's names, and the renames made."""
    tensors, renamed = {}, {}
    for name, array in weights_files.read_ckpt(data).items():
        mapped = peft_name(name)
        tensors[mapped] = array
        if mapped != name:
            renamed[name] = mapped
    return tensors, renamed


def read(folder: Path) -> Adapter:
    """The adapter in `folder` (the grader's kept copy), every file read through untrusted:
    links refused, sizes capped, JSON bounded, and weights checked before any array is built."""
    from safetensors.numpy import load

    try:
        config = untrusted.read_json(folder, CONFIG, MAX_CONFIG_BYTES)
    except untrusted.Unreadable as exc:
        return Adapter(folder, {}, {}, f"{CONFIG} could not be read: {exc}")
    if not isinstance(config, dict):
        return Adapter(folder, {}, {}, f"{CONFIG} holds a JSON {type(config).__name__}, not an object of settings")
    present = {name for name in (WEIGHTS, CKPT_WEIGHTS, *UNSAFE_WEIGHTS) if os.path.lexists(folder / name)}
    if WEIGHTS in present:
        try:
            data = untrusted.read_bytes(folder, WEIGHTS, MAX_ADAPTER_BYTES)
            weights_files.safetensors_header(data, len(data))
            return Adapter(folder, config, load(data), format=SAFETENSORS_FORMAT)
        except Exception as exc:  # a corrupt file is the student's to fix, not a grader crash
            return Adapter(folder, config, {}, f"{WEIGHTS} could not be read: {exc}", SAFETENSORS_FORMAT)
    if CKPT_WEIGHTS in present:
        try:
            tensors, renamed = read_ckpt(untrusted.read_bytes(folder, CKPT_WEIGHTS, MAX_ADAPTER_BYTES))
        except untrusted.Unreadable as exc:
            return Adapter(folder, config, {}, f"{CKPT_WEIGHTS} is not a readable MindSpore checkpoint: {exc}", CKPT_FORMAT)
        return Adapter(folder, config, tensors, format=CKPT_FORMAT, renamed=renamed)
    unsafe = sorted(present & set(UNSAFE_WEIGHTS))
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


def full_model_files(listing: untrusted.Listing) -> list[PurePosixPath]:
    """Weights files that are not an adapter's: a whole model saved instead of the adapter."""
    configs = {e.path.parent for e in listing.entries if e.path.name == CONFIG and e.kind != "folder"}
    named = [e for e in listing.entries if e.kind != "folder" and any(fnmatch(e.path.name, p) for p in FULL_MODEL_PATTERNS)]
    return [e.path for e in named if e.path.name != CKPT_WEIGHTS and e.path.parent not in configs][:MAX_DESCRIBED]


def describe_weights(root: Path, relative: PurePosixPath) -> dict:
    """Tensor and parameter counts of a weights file below `root`, from its header (safetensors)
    or its checked contents (checkpoint); pickles are never loaded."""
    info = {"file": relative.name}
    try:
        if relative.suffix == ".safetensors":
            fd = untrusted.open_file(root, relative, MAX_FULL_MODEL_BYTES)
            with open(fd, "rb") as handle:
                info["bytes"] = os.fstat(handle.fileno()).st_size
                head = handle.read(8 + weights_files.MAX_HEADER_BYTES)
            shapes = list(weights_files.safetensors_header(head, info["bytes"]).values())
        elif relative.suffix == ".ckpt":
            data = untrusted.read_bytes(root, relative, MAX_ADAPTER_BYTES)
            info["bytes"] = len(data)
            shapes = [list(t.shape) for t in weights_files.read_ckpt(data).values()]
        else:
            fd = untrusted.open_file(root, relative, MAX_FULL_MODEL_BYTES)
            info["bytes"] = os.fstat(fd).st_size
            os.close(fd)
            return info  # pickles are never loaded
    except untrusted.Unreadable as exc:
        return info | {"problem": f"not read: {exc}"}
    info["tensors"] = len(shapes)
    info["parameters"] = sum(size(s) for s in shapes)
    return info


def weights_file(folder: Path) -> Path | None:
    """The weights file the grader reads beside an adapter_config.json, if any."""
    return next((folder / name for name in (WEIGHTS, CKPT_WEIGHTS, *UNSAFE_WEIGHTS) if (folder / name).exists()), None)


def keep(root: Path, folder: PurePosixPath, dest: Path) -> str | None:
    """Copy the files the grader reads of the adapter in root/folder into `dest` (a new folder),
    from descriptors opened without following links; returns why it could not (a link, a FIFO or
    device, a file too large), or None."""
    dest.mkdir(parents=True)
    for name in (CONFIG, WEIGHTS, CKPT_WEIGHTS, *UNSAFE_WEIGHTS):
        try:
            untrusted.copy(root, folder / name, dest / name, MAX_CONFIG_BYTES if name == CONFIG else MAX_ADAPTER_BYTES)
        except untrusted.Missing as exc:
            if name == CONFIG:
                return str(exc)
        except untrusted.Unreadable as exc:
            return str(exc)
    return None
