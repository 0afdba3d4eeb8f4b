"""Shared fixtures: the MRPC data from ../shared, a per-session cache for generated models, the
tiny profile with its calibration, and the `good` and `crash` examples graded once for the tests
that read stored results."""

from __future__ import annotations

import pytest

from tests.helpers import MRPC_DIR, SUBMISSIONS, grade


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
    from grader.course import profiles

    return profiles.load("tiny")


@pytest.fixture(scope="module")
def tiny():
    """The tiny profile and its calibration, as helpers.judged takes them."""
    from grader.course import calibration, profiles

    profile = profiles.load("tiny")
    return profile, calibration.load_for(profile.name)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_profile):
    from grader.course import model_files

    return model_files.ensure(tiny_profile, MRPC_DIR)


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """The `good` and `crash` examples graded once on the tiny profile (real training), for the
    tests that re-score, serialise and render stored results: {name: result folder}."""
    root = tmp_path_factory.mktemp("graded")
    folders = {}
    for name in ("good", "crash"):
        done = grade(SUBMISSIONS / name, root / name, "--submitted-at", "2026-11-20T12:00:00+00:00")
        assert done.code in (0, 1) and (done.out / "scored.json").is_file(), f"grading {name} wrote no scored.json"
        folders[name] = done.out
    return folders
