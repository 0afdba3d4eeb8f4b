"""Shared fixtures: the MRPC data from ../shared, a per-session cache for generated models, the
tiny profile with its calibration, and the `good` and `crash` examples graded once for the tests
that read stored results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Tests write nothing into the checkout, not even bytecode: this process and every child that
# inherits its environment (batches, the evaluator, the README's commands) leave no __pycache__
# beside the grader's sources. grader/run/ is what the hostile-run tests digest.
sys.dont_write_bytecode = True
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
# MindSpore in the test processes themselves (adapters made, evaluations compared in-process)
# launches blocking, as the grader's CPU runs and evaluator do (grader/run/devices.py): launched
# asynchronously its queue threads spin against the kernels on two cores (measured on the
# evaluation and tiny-model tests: 13.6 s and 18.5 CPU-s against 22.0 s and 35.2 CPU-s).
os.environ["MS_DEV_LAUNCH_BLOCKING"] = "1"

import pytest  # noqa: E402

from tests.helpers import MRPC_DIR, NO_MINDSPORE_EXIT, ROOT, SUBMISSIONS, close_warm_evaluator, grade_in_a_child  # noqa: E402

WATCHED = ("grader", "submissions", "reference", "rubrics", "templates")  # what the grader reads from the checkout


def checkout_files() -> set[str]:
    """Untracked and ignored paths under the watched folders, as git lists them."""
    done = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all", "--", *WATCHED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:  # not a git checkout (an unpacked source archive): nothing to compare
        return set()
    return {line[3:] for line in done.stdout.splitlines() if line[:2] in ("??", "!!")}


def is_xdist_worker() -> bool:
    """True in a pytest-xdist worker (`-n`), whose controller runs the session-wide checks."""
    return "PYTEST_XDIST_WORKER" in os.environ


def pytest_sessionstart(session):
    if not is_xdist_worker():  # the controller spans every worker's tests
        session.config.stash[CHECKOUT_BEFORE] = checkout_files()


def pytest_sessionfinish(session, exitstatus):
    """Fail the session, naming them, when tests left new files in the checkout."""
    before = session.config.stash.get(CHECKOUT_BEFORE, None)  # None on an xdist worker
    if before is None:
        return
    new = sorted(checkout_files() - before)
    if new:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "tests wrote into the checkout (use tmp_path): " + ", ".join(new)
        if reporter:
            reporter.ensure_newline()
            reporter.write_line(message, red=True, bold=True)
        else:
            print(message, file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


CHECKOUT_BEFORE = pytest.StashKey[set]()


TRAINING_FIXTURES = {"graded", "class_batch"}


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(config, items):
    """`slow` on every test that needs a real training (a fixture that grades the examples) or is
    a rare end-to-end path, so that `-m "not slow"` neither trains nor waits out a budget; and the
    rare end-to-end paths first, then the slow tests, so that with `-n` the longest modules (a
    bundle installed, about six minutes) start at once instead of ending the run alone."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("e2e_rare") or TRAINING_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: 0 if item.get_closest_marker("e2e_rare") else 1 if item.get_closest_marker("slow") else 2)


@pytest.fixture(scope="session", autouse=True)
def grader_environment(tmp_path_factory):
    """Point the grader at the shared MRPC copy and a fresh cache; fail loudly if data is absent."""
    if not (MRPC_DIR / "train.jsonl").is_file():
        pytest.fail(f"MRPC data not found at {MRPC_DIR}; set GRADER_MRPC_DIR")
    # one cache for every xdist worker (the grader builds into it atomically): the tiny model is built once
    root = tmp_path_factory.getbasetemp()
    cache = (root.parent if is_xdist_worker() else root) / "grader-cache"
    cache.mkdir(exist_ok=True)
    patch = pytest.MonkeyPatch()
    patch.setenv("GRADER_MRPC_DIR", str(MRPC_DIR))
    patch.setenv("GRADER_CACHE", str(cache))
    yield cache
    close_warm_evaluator()
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
def tiny_model_dir(tiny_profile, grader_environment):
    from grader.course import model_files

    return model_files.ensure(tiny_profile, MRPC_DIR)  # one process builds it, the others wait on its lock


class Examples(dict):
    """{name: result folder} of the examples graded once, with each grading's exit status."""

    codes: dict[str, int]


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """The `good` and `crash` examples graded once on the tiny profile (real training), for the
    tests that re-score, serialise and render stored results, and read what the grading said.
    Each is graded as the README's demo does it, by a `grade` of its own with its own evaluator
    and --out relative to the current directory, in a process that must not import MindSpore."""

    def make(root: Path) -> dict:
        codes = {}
        for name in ("good", "crash"):
            done = grade_in_a_child(SUBMISSIONS / name, Path(name), "--submitted-at", "2026-11-20T12:00:00+00:00", cwd=root)
            assert done.returncode != NO_MINDSPORE_EXIT, done.stderr[-3000:]
            assert (root / name / "scored.json").is_file(), (
                f"grading {name} (exit {done.returncode}) wrote no scored.json:\n{done.stderr[-3000:]}"
            )
            codes[name] = done.returncode
        return codes

    root, codes = made_once(tmp_path_factory, "graded", make)
    folders = Examples({name: root / name for name in codes})
    folders.codes = codes
    return folders


def made_once(tmp_path_factory, name: str, make) -> tuple[Path, object]:
    """`make(folder)` run once per test run: under pytest-xdist the first worker to ask makes it
    in the folder the workers share while the others wait, and all read the same folder.
    Returns the folder and what `make` returned (kept as JSON for the other workers)."""
    if not is_xdist_worker():
        root = tmp_path_factory.mktemp(name)
        return root, make(root)
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent
    root, answer = shared / name, shared / f"{name}.json"
    with FileLock(shared / f"{name}.lock"):
        if not answer.is_file():
            if root.exists():  # a worker that failed while making it: nothing half-made is shared
                shutil.rmtree(root)
            root.mkdir()
            answer.write_text(json.dumps(make(root)))
    return root, json.loads(answer.read_text())


# The class the batch, hostile-student and README tests read: the saboteur graded first (its daemon
# must not reach the next students), a good and a crashing student, a missing submission, and a
# student whose adapter is saved untrained (a second adapter for the slot's evaluator, without a
# second training). Folders are relative to the roster.
CLASS_ROSTER = [
    ("Mallory", "mallory"),
    ("alice", "alice"),
    ("ghost", "never-handed-in"),
    ("bob", "bob"),
    ("Grace Hopper", "grace"),
]


@dataclass
class ClassBatch:
    root: Path  # the instructor's folder: roster.csv, the submissions, class/
    statuses: list[tuple[str, int]]  # (command, exit status) of each README line, in order

    @property
    def out(self) -> Path:
        return self.root / "class"

    @property
    def after_batch(self) -> Path:
        """class/summary.html and class/gradebook.csv as `grade batch` wrote them, before `grade summary` rewrote them."""
        return self.root / "after-batch"


@pytest.fixture(scope="session")
def class_batch(tmp_path_factory, tiny_model_dir):
    """The README's instructor path (prepare, batch, summary) run once as written, on the tiny
    profile, over CLASS_ROSTER; the tests that share it only read what it wrote."""
    from tests.commands.batch_helpers import adapter_saver, write_roster
    from tests.helpers import readme_commands, readme_environment, run_readme_line

    def make(root: Path) -> list:
        shutil.copytree(SUBMISSIONS / "hostile" / "saboteur", root / "mallory")
        shutil.copytree(SUBMISSIONS / "good", root / "alice")
        shutil.copytree(SUBMISSIONS / "crash", root / "bob")
        adapter_saver(root, "grace")
        write_roster(root / "roster.csv", CLASS_ROSTER)
        statuses = []
        for line in readme_commands("### Instructor"):
            done = run_readme_line(line, root, readme_environment(), {"--profile roberta-large": "--profile tiny"})
            statuses.append((line.split()[1], done.returncode))
            assert done.returncode != 3, f"{line}\n{done.stdout}\n{done.stderr}"  # a grader error: nothing to share
            if line.split()[1] == "batch":
                (root / "after-batch").mkdir()
                for name in ("summary.html", "gradebook.csv"):
                    shutil.copy2(root / "class" / name, root / "after-batch" / name)
        return statuses

    root, statuses = made_once(tmp_path_factory, "instructor", make)
    return ClassBatch(root, [tuple(status) for status in statuses])
