"""The device a student run trains on: parse `--device cpu|gpu|ascend[:IDS]`, refuse one the
machine lacks before anything runs, and give the child the variables its runtime reads.

Devices are found by their device files (`/dev/nvidiaN`, `/dev/davinciN`), without importing
MindSpore or initialising a runtime in the grader. GRADER_DEVICE_ROOT replaces `/dev` (tests use
fake device files). Ascend placement follows the CANN rule: the card is chosen with
ASCEND_RT_VISIBLE_DEVICES (re-indexed from 0 inside the process), and MindNLP reads
DEVICE_TARGET at import and calls mindspore.set_device with no id.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from grader.errors import CannotGrade

TARGETS = {"cpu": "CPU", "gpu": "GPU", "ascend": "Ascend"}
DEVICE_FILES = {"gpu": re.compile(r"nvidia(\d+)$"), "ascend": re.compile(r"davinci(\d+)$")}
VISIBLE = {"gpu": "CUDA_VISIBLE_DEVICES", "ascend": "ASCEND_RT_VISIBLE_DEVICES"}
# What CANN's set_env.sh exports, passed on when the grader itself runs with it.
CANN_VARIABLES = (
    "ASCEND_TOOLKIT_HOME",
    "ASCEND_HOME_PATH",
    "ASCEND_OPP_PATH",
    "ASCEND_AICPU_PATH",
    "ASCEND_CUSTOM_OPP_PATH",
    "TOOLCHAIN_HOME",
    "ASCEND_CACHE_PATH",
)


@dataclass(frozen=True)
class Device:
    kind: str  # cpu | gpu | ascend
    ids: tuple[int, ...] = ()

    @property
    def target(self) -> str:
        return TARGETS[self.kind]

    def describe(self) -> str:
        return self.target + (f" {','.join(map(str, self.ids))}" if self.ids else "")


def parse(spec: str, ids: str | None = None) -> Device:
    """`ascend`, `ascend:0,1` or `Ascend` with ids given apart; ids are physical device numbers."""
    kind, _, inline = spec.strip().partition(":")
    kind = kind.lower()
    if kind == "npu":
        kind = "ascend"
    if kind not in TARGETS:
        raise CannotGrade(f"unknown device {spec!r}; use cpu, gpu or ascend (optionally with ids, e.g. ascend:0)")
    text = ",".join(filter(None, (inline, ids or "")))
    try:
        numbers = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise CannotGrade(f"device ids must be numbers separated by commas, not {text!r}") from None
    if kind == "cpu" and numbers:
        raise CannotGrade("the cpu device takes no ids")
    return Device(kind, numbers)


def present(kind: str) -> list[int]:
    """Device numbers of this kind that the machine has (always [] for cpu)."""
    if kind == "cpu":
        return []
    root = Path(os.environ.get("GRADER_DEVICE_ROOT", "/dev"))
    try:
        names = os.listdir(root)
    except OSError:
        return []
    return sorted(int(m.group(1)) for m in map(DEVICE_FILES[kind].match, names) if m)


def check(device: Device) -> Device:
    """Refuse a device the machine lacks; with no ids, take the first one it has."""
    if device.kind == "cpu":
        return device
    have = present(device.kind)
    looked = Path(os.environ.get("GRADER_DEVICE_ROOT", "/dev")) / DEVICE_FILES[device.kind].pattern.replace(r"(\d+)$", "N")
    if not have:
        raise CannotGrade(
            f"{device.target} requested but this machine has none (no {looked}); grade with --device cpu, or on a machine with the device"
        )
    missing = [i for i in device.ids if i not in have]
    if missing:
        raise CannotGrade(f"{device.target} {','.join(map(str, missing))} requested but this machine has only {','.join(map(str, have))}")
    return device if device.ids else Device(device.kind, (have[0],))


def environment(device: Device, private: Path) -> dict[str, str]:
    """Variables for the student's process on this device."""
    env = {"DEVICE_TARGET": device.target}
    if device.kind == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
        # MindSpore's asynchronous launch, on a CPU that also runs the kernels, spins threads
        # that wait on each other: launched blocking, the same results in half the CPU time
        # (bench/cpu_launch.py, docs/benchmarks.md).
        env["MS_DEV_LAUNCH_BLOCKING"] = "1"
        return env
    env[VISIBLE[device.kind]] = ",".join(map(str, device.ids))  # ascending, no spaces (CANN parses it so)
    env["DEVICE_ID"] = "0"  # an index into the visible list, never the physical number
    if device.kind == "ascend":
        work = private / "ascend"
        env.update(
            ASCEND_WORK_PATH=str(work / "work"),
            ASCEND_PROCESS_LOG_PATH=str(work / "log"),
            ASCEND_GLOBAL_LOG_LEVEL="3",
            ASCEND_SLOG_PRINT_TO_STDOUT="0",
        )
        env.update({k: os.environ[k] for k in CANN_VARIABLES if k in os.environ})
    return env


def extra_pythonpath(device: Device) -> list[str]:
    """CANN puts its Python packages on PYTHONPATH; keep them after the grader's own folder."""
    if device.kind != "ascend":
        return []
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
