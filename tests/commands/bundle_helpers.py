"""What the course-bundle install tests share: a shell as a runner or Gradescope's image build
runs one, with nothing of this checkout's grader in its environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

INSTALL_SECONDS = 1500


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment without anything that points at this checkout's grader."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADER_", "GITHUB_", "VIRTUAL_ENV")) and k != "PYTHONPATH"}
    path = [p for p in env["PATH"].split(":") if ".venv" not in p]
    return env | {"PATH": ":".join(path)} | extra


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
    )
