"""Gradescope's run_autograder where bubblewrap cannot build its root (Docker's defaults; here a
`bwrap` stand-in early on PATH that fails as they make it fail): the grader reports the sandbox
unavailable in results.json, and run_autograder grades again with container isolation, which the
results name. A hostile submission that finds the grader through /proc cannot change the
grader's installed package, the results, or run_autograder, cannot read the bundled labelled test
split, and leaves no process behind; all checked from the host."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import jsonschema
import pytest

from tests.commands.test_autograder import autograder_root, run_autograder
from tests.helpers import ROOT, SUBMISSIONS, run_survivors
from tests.outputs.test_outputs import GRADESCOPE

REFUSAL = "bwrap: Creating new namespace failed: Operation not permitted"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope grades as root; container isolation needs it")


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for item in sorted(folder.rglob("*")):
        h.update(str(item.relative_to(folder)).encode())
        if item.is_file():
            h.update(item.read_bytes())
    return h.hexdigest()


@pytest.fixture
def disposable(grader_environment):
    """An /autograder folder as Gradescope's image has it, root's and open to others to read
    (pytest's own folders are closed to other users, which would shut the run's uid out for the
    wrong reason): the grader's package installed under grader-env/ (a copy of this checkout's),
    its cache with the tiny model, and a failing bwrap first on PATH."""
    top = Path(tempfile.mkdtemp(prefix="autograder-"))
    top.chmod(0o755)
    bin_dir = top / "bin"
    bin_dir.mkdir()
    (bin_dir / "bwrap").write_text(f"#!/bin/sh\necho '{REFUSAL}' >&2\nexit 1\n")
    (bin_dir / "bwrap").chmod(0o755)

    def lay_out(submission: Path) -> tuple[Path, dict]:
        where = top / submission.name
        where.mkdir()
        root = autograder_root(where, submission)
        for folder in (where, root):
            folder.chmod(0o755)
        site = root / "grader-env" / "site"
        shutil.copytree(ROOT / "grader", site / "grader", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(grader_environment, root / "grader-cache")
        (root / "grader-cache").chmod(0o755)  # as setup.sh makes it; pytest's folder it is copied from is 0700
        env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "PYTHONPATH": str(site),  # the installed grader, not the checkout
            "GRADER_HOME": str(ROOT),  # its profiles, rubrics and templates
            "GRADER_CACHE": str(root / "grader-cache"),
        }
        return root, env

    yield lay_out
    shutil.rmtree(top)


def _graded_in_container(root: Path, done) -> dict:
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, GRADESCOPE)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "grading in this disposable container instead" in done.stderr
    assert results["extra_data"]["isolation"] == "container", results["extra_data"]
    assert (
        f"Isolation: disposable container, no sandbox (bubblewrap refused: bubblewrap cannot make namespaces here: {REFUSAL})"
        in (results["output"])
    )
    return results


def test_run_autograder_grades_a_hostile_submission_in_the_container_and_it_changes_nothing(disposable):
    root, env = disposable(SUBMISSIONS / "hostile" / "container-escape")
    package = root / "grader-env" / "site" / "grader"
    before = {"package": _digest(package), "run_autograder": (root / "run_autograder").read_bytes()}
    done = run_autograder(root, **env)
    results = _graded_in_container(root, done)
    stdout = (root / "grade-results" / "evidence" / "logs" / "stdout.txt").read_text()
    stderr = (root / "grade-results" / "evidence" / "logs" / "stderr.txt").read_text()
    assert "daemon started" in stdout, stderr  # it found the grader through /proc and tried everything
    # from the host: nothing of the grader's changed, the results are the grader's own
    assert _digest(package) == before["package"] and not (package / "planted.py").exists()
    assert (root / "run_autograder").read_bytes() == before["run_autograder"]
    assert sorted(p.name for p in (root / "results").iterdir()) == ["results.json"]
    assert results == json.loads((root / "grade-results" / "results.json").read_text())
    assert results["score"] < results["max_score"] and "planted" not in json.dumps(results)
    assert "LABELLED" not in stdout  # the bundled test split with its labels stayed root's
    assert (root / "source").stat().st_mode & 0o777 == 0o700
    run = json.loads((root / "grade-results" / "evidence" / "evidence.json").read_text())["run"]
    assert "host uid" in run["isolation"]["run_user"]
    assert run_survivors(run["isolation"]) == []  # the daemon that would rewrite results.json was ended with the run


@pytest.mark.slow
def test_run_autograder_grades_a_good_submission_in_the_container(disposable):
    root, env = disposable(SUBMISSIONS / "good")
    results = _graded_in_container(root, run_autograder(root, **env))
    assert (results["score"], results["max_score"]) == (75, 75), results["output"]
