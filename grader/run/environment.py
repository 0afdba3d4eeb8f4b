"""What the student's process is given: the documented GRADER_* variables, a scrubbed offline
environment with the injected hooks, the interpreter that runs it, and the profile's sandbox."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path, PurePosixPath

from grader.course.mindnlp_env import OFFLINE_ENV
from grader.course.profiles import Profile
from grader.errors import CannotGrade
from grader.run import sandbox
from grader.run.devices import Device
from grader.run.inject import SITE_DIR
from grader.run.layout import Layout

PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "SSL_CERT_FILE")


def student_variables(profile: Profile, model_dir: str, files: dict[str, str], output: str) -> dict[str, str]:
    """The documented contract between the grader and a submission (see README), with the paths
    as the run sees them."""
    hidden_test = {"GRADER_TEST_FILE": str(files["test"])} if "test" in files else {}
    return hidden_test | {
        "GRADER_MODEL_DIR": str(model_dir),
        "GRADER_DATA_DIR": str(PurePosixPath(files["train"]).parent),
        "GRADER_TRAIN_FILE": str(files["train"]),
        "GRADER_VALIDATION_FILE": str(files["validation"]),
        "GRADER_OUTPUT_DIR": str(output),
        "GRADER_MAX_LENGTH": str(profile.max_length),
        "GRADER_EPOCHS": str(profile.epochs),
        "GRADER_SEED": str(profile.seed),
    }


def student_env(
    private: Path, variables: dict[str, str], device: str, seed: int, hooks: tuple[str, ...] = (), layout: Layout | None = None
) -> dict[str, str]:
    """Only what the script needs: no grader secrets, a private HOME and TMPDIR, offline hub,
    and the grader's sitecustomize first on PYTHONPATH with the named hooks to install. With a
    layout, the paths are where the run sees them."""
    home, tmp, site = private / "home", private / "tmp", str(SITE_DIR)
    home.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    if layout:
        home, tmp, site = Path(layout.inside("home")), Path(layout.inside("tmp")), layout.inside("inject")
    env = {key: os.environ[key] for key in PASSTHROUGH if key in os.environ}
    env.update(OFFLINE_ENV)
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp),
        HF_HOME=str(home / ".cache" / "huggingface"),
        PYTHONUNBUFFERED="1",
        PYTHONHASHSEED=str(seed),
        PYTHONDONTWRITEBYTECODE="1",
        DEVICE_TARGET=device,
        GLOG_v="3",
        PYTHONPATH=site,
        GRADER_HOOKS=",".join(hooks),
    )
    env.update(variables)
    return env


def interpreter(chosen: str | None, profile: Profile) -> str:
    """The student's interpreter: --python, else the profile's [run] python, else the grader's."""
    chosen = chosen or profile.python or sys.executable
    found = shutil.which(chosen)
    if not found:
        raise CannotGrade(f"student interpreter {chosen!r} not found; pass --python PATH or set python in the profile's [run]")
    return chosen if Path(chosen).is_absolute() else found


def sandbox_for(profile: Profile, device: Device) -> sandbox.Sandbox:
    """The profile's [sandbox] settings; device runtimes reserve address space, so no memory cap on them."""
    cfg, default, gib = profile.sandbox, sandbox.Sandbox(), sandbox.GiB
    memory = int(cfg.memory_gb * gib) if cfg.memory_gb is not None else default.memory_bytes
    return sandbox.Sandbox(
        memory_bytes=memory if device.kind == "cpu" else None,
        processes=cfg.processes if cfg.processes is not None else default.processes,
        file_bytes=int(cfg.file_gb * gib) if cfg.file_gb is not None else default.file_bytes,
        disk_bytes=int(cfg.disk_gb * gib) if cfg.disk_gb is not None else default.disk_bytes,
        open_files=cfg.open_files if cfg.open_files is not None else default.open_files,
        output_bytes=int(cfg.output_mb * 1024**2) if cfg.output_mb is not None else default.output_bytes,
        isolate_network=cfg.isolate_network,
    )
