"""Shared fixtures: the MRPC data from ../shared, and a per-session cache for generated models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
MRPC_DIR = Path(os.environ.get("GRADER_MRPC_DIR") or ROOT.parent / "shared" / "data" / "mrpc").resolve()


@pytest.fixture(scope="session", autouse=True)
def grader_environment(tmp_path_factory):
    """Point the grader at the shared MRPC copy and a fresh cache; fail loudly if data is absent."""
    if not (MRPC_DIR / "train.jsonl").is_file():
        pytest.fail(f"MRPC data not found at {MRPC_DIR}; set GRADER_MRPC_DIR")
    cache = tmp_path_factory.mktemp("grader-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("GRADER_MRPC_DIR", str(MRPC_DIR))
    patch.setenv("GRADER_CACHE", str(cache))
    yield cache
    patch.undo()


@pytest.fixture(scope="session")
def mrpc_dir():
    return MRPC_DIR


@pytest.fixture(scope="session")
def tiny_profile():
    from grader import profiles

    return profiles.load("tiny")


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_profile):
    return tiny_profile.ensure_model()


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """The `good` and `crash` examples graded once on the tiny profile (real training), for the
    tests that re-score, serialise and render stored results: {name: result folder}."""
    from grader import cli

    root = tmp_path_factory.mktemp("graded")
    folders = {}
    for name in ("good", "crash"):
        folders[name] = root / name
        code = cli.main([str(SUBMISSIONS / name), "--profile", "tiny", "--out", str(folders[name]),
                         "--submitted-at", "2026-11-20T12:00:00+00:00"])
        assert code in (0, 1) and (folders[name] / "scored.json").is_file(), f"grading {name} wrote no scored.json"
    return folders
