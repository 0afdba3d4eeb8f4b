"""The linter and formatter configured in pyproject.toml hold for the whole code base."""

import subprocess
import sys

from tests.helpers import ROOT

PATHS = ["grader", "tests", "bench", "reference"]


def ruff(*args):
    return subprocess.run([sys.executable, "-m", "ruff", *args, *PATHS], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_ruff_finds_nothing():
    done = ruff("check", "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr


def test_code_is_formatted():
    done = ruff("format", "--check", "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr
