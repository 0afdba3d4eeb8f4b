"""What the course-bundle tests share: a shell as a runner or Gradescope's image build runs one,
with nothing of this checkout's grader in its environment, and Gradescope's submission time."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

INSTALL_SECONDS = 1500

# pip installs without byte-compiling (pip reads PIP_COMPILE as its --compile option): compiling
# the 3.5-GB stack's every module is about 40% of an install's CPU (measured: 44 s instead of 76 s
# alone). Python compiles a module the first time it is imported instead, and writes its .pyc
# where it can (PYTHON* variables are not passed on). Nothing an install test checks depends on it.
INSTALL_ENV = {"PIP_COMPILE": "0"}


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment without anything that points at this checkout's grader, or
    its Python settings, with INSTALL_ENV."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADER_", "GITHUB_", "VIRTUAL_ENV", "PYTHON"))}
    path = [p for p in env["PATH"].split(":") if ".venv" not in p]
    return env | {"PATH": ":".join(path)} | INSTALL_ENV | extra


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
    )


SUBMITTED_AT = "2026-11-20T14:22:32.365935-07:00"  # Gradescope's submission time in the runs below


def gradescope_submission(root: Path) -> None:
    """The submission_metadata.json Gradescope puts in /autograder, submitted at SUBMITTED_AT."""
    (root / "submission_metadata.json").write_text(json.dumps({"created_at": SUBMITTED_AT, "users": []}))


def late_by_submission_time(root: Path) -> bool:
    """Whether the grading's lateness was judged by SUBMITTED_AT (grade-results/scored.json)."""
    late = json.loads((root / "grade-results" / "scored.json").read_text())["late"]
    return SUBMITTED_AT[:19] in json.dumps(late)
