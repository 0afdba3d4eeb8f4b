"""The isolation policy (run/isolation.py) through the real `grade` and `grade check` commands,
on a machine where bubblewrap cannot build its root: a `bwrap` stand-in early on PATH that fails
as Docker's defaults make it fail. A self-check runs without the sandbox and says so and what to
install, the same for both commands; a grading someone configured refuses (exit 3) with the
hint and marks results.json for a script; container isolation runs the student as a uid of its
own and refuses while the labelled test split is readable by it."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from markupsafe import escape as html_escape

from grader import cli
from grader.run import isolation, jail
from tests import helpers
from tests.helpers import MRPC_DIR, SUBMISSIONS

REFUSAL = "bwrap: Creating new namespace failed: Operation not permitted"
QUICK = "import os\nprint('ran as uid', os.getuid())\n"  # never imports MindNLP: seconds, not minutes


@pytest.fixture
def failing_bwrap(tmp_path, monkeypatch):
    """A `bwrap` first on PATH that refuses as under Docker's defaults; bubblewrap's verdict is
    cached per process, so it is cleared around the test."""
    folder = tmp_path / "bin"
    folder.mkdir()
    stand_in = folder / "bwrap"
    stand_in.write_text(f"#!/bin/sh\necho '{REFUSAL}' >&2\nexit 1\n")
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    jail.check.cache_clear()
    yield stand_in
    jail.check.cache_clear()


@pytest.fixture
def self_check_machine(monkeypatch):
    """A student's laptop: nothing configured, and the course model absent (a fresh cache)."""
    for variable in ("GRADER_PROFILE", "GRADER_MODEL_DIR_ROBERTA_LARGE"):
        monkeypatch.delenv(variable, raising=False)


def quick_submission(folder):
    folder.mkdir()
    (folder / "train.py").write_text(QUICK)
    return folder


def isolation_lines(text: str) -> list[str]:
    return re.findall(r"isolation: .*", text)


def test_a_self_check_without_bubblewrap_runs_unsandboxed_the_same_for_grade_and_grade_check(
    tmp_path, failing_bwrap, self_check_machine, tiny_model_dir, capsys
):
    submission = quick_submission(tmp_path / "mine")
    graded = helpers.Graded(cli.main([str(submission), "--out", str(tmp_path / "out")]), tmp_path / "out")
    shown_by_grade = capsys.readouterr().out
    checked = cli.main(["check", str(submission)])
    shown_by_check = capsys.readouterr().out
    assert graded.code in (0, 1) and checked in (0, 1), (graded.code, checked)  # neither refuses: no exit 3
    assert "self-check" in shown_by_grade
    line = isolation_lines(shown_by_grade)[-1]
    assert line in isolation_lines(shown_by_check), (line, shown_by_check)  # the same words from both commands
    assert line.startswith(f"isolation: {isolation.LABELS[isolation.NONE]}")
    assert REFUSAL in line and "apt-get install bubblewrap" in line
    # the outputs a student reads say it too
    assert graded.results["extra_data"]["isolation"] == isolation.NONE
    assert graded.results["extra_data"]["environment"]["isolation_label"] == line
    assert str(html_escape(line)) in graded.report and "without the sandbox" in graded.report
    assert graded.evidence["run"]["isolation"]["mode"] == isolation.NONE


def test_an_explicit_profile_without_bubblewrap_refuses_with_the_install_hint(tmp_path, failing_bwrap, capsys):
    submission = quick_submission(tmp_path / "mine")
    refused = helpers.grade(submission, tmp_path / "out")  # --profile tiny: an instructor's grading
    said = capsys.readouterr().err
    assert refused.code == 3
    assert "apt-get install bubblewrap" in said and "--isolation container" in said
    extra = refused.results["extra_data"]
    assert extra["gradable"] is False and REFUSAL in extra["sandbox_unavailable"]
    assert not (refused.out / "evidence" / "logs" / "stdout.txt").exists()  # nothing ran
    # `grade check` asked for the sandbox explicitly refuses the same way
    assert cli.main(["check", str(submission), "--isolation", "sandbox"]) == 3
    assert "apt-get install bubblewrap" in capsys.readouterr().err


def test_a_batch_refuses_container_isolation(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text(f"student,submission\nann,{SUBMISSIONS / 'crash'}\n")
    code = cli.main(["batch", str(roster), "--out", str(tmp_path / "class"), "--profile", "tiny", "--isolation", "container"])
    assert code == 2 and "one submission" in capsys.readouterr().err
    assert not (tmp_path / "class").exists()


@pytest.fixture
def closed_data():
    """The grader's MRPC copy in a folder any user may enter (pytest's own are closed to others,
    which would hide the file for the wrong reason), with the labelled test split root's only."""
    top = Path(tempfile.mkdtemp(prefix="grader-data-"))
    top.chmod(0o755)
    data = top / "mrpc"
    shutil.copytree(MRPC_DIR, data)
    data.chmod(0o755)
    for path in data.iterdir():
        path.chmod(0o644)
    (data / "test.jsonl").chmod(0o600)
    yield data
    shutil.rmtree(top)


@pytest.fixture
def open_cache(grader_environment, tiny_model_dir, monkeypatch):
    """The grader's cache (with the tiny model) where other users may read it, as setup.sh leaves it."""
    top = Path(tempfile.mkdtemp(prefix="grader-cache-"))
    top.chmod(0o755)
    shutil.copytree(grader_environment, top / "cache")
    (top / "cache").chmod(0o755)
    monkeypatch.setenv("GRADER_CACHE", str(top / "cache"))
    yield top / "cache"
    shutil.rmtree(top)


@pytest.mark.skipif(os.geteuid() != 0, reason="container isolation starts the run as a uid of its own only as root")
def test_container_isolation_runs_the_student_as_a_uid_of_its_own(tmp_path, failing_bwrap, closed_data, open_cache, monkeypatch):
    monkeypatch.setenv("GRADER_MRPC_DIR", str(closed_data))
    submission = tmp_path / "probe"
    submission.mkdir()
    (submission / "train.py").write_text(
        "import os\nprint('uid', os.getuid(), 'groups', os.getgroups())\n"
        f"try:\n    open({str(closed_data / 'test.jsonl')!r}).read()\n    print('read the labels')\n"
        "except OSError as exc:\n    print('labels refused', exc.errno)\n"
    )
    graded = helpers.grade(submission, tmp_path / "out", "--isolation", "container")
    assert graded.code in (0, 1), graded.code
    run = graded.evidence["run"]
    uid = int(re.search(r"host uid (\d+)", run["isolation"]["run_user"]).group(1))
    assert uid in jail.RUN_UIDS and f"uid {uid} groups []" in graded.stdout
    assert "labels refused 13" in graded.stdout  # EACCES, as the kernel answered the run
    assert run["isolation"]["mode"] == isolation.CONTAINER and run["isolation"]["limits"]["nproc"] > 0
    label = graded.results["extra_data"]["environment"]["isolation_label"]
    assert label.startswith("isolation: disposable container, no sandbox (bubblewrap refused:") and REFUSAL in label
    assert str(html_escape(label)) in graded.report and label[1:] in graded.results["output"]
    assert helpers.run_survivors(run["isolation"]) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only")
def test_container_isolation_refuses_while_the_labelled_split_is_readable_by_the_run(tmp_path, failing_bwrap, closed_data, monkeypatch):
    (closed_data / "test.jsonl").chmod(0o644)
    monkeypatch.setenv("GRADER_MRPC_DIR", str(closed_data))
    refused = helpers.grade(quick_submission(tmp_path / "mine"), tmp_path / "out", "--isolation", "container")
    assert refused.code == 2 and not (tmp_path / "out" / "evidence").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only")
def test_container_isolation_refuses_a_model_the_run_cannot_read(tmp_path, failing_bwrap, closed_data, tiny_model_dir, monkeypatch):
    """pytest's cache folder is closed to other users: a container grading there would fail every
    student for the grader's reason, so it is refused (exit 2) instead."""
    monkeypatch.setenv("GRADER_MRPC_DIR", str(closed_data))
    refused = helpers.grade(quick_submission(tmp_path / "mine"), tmp_path / "out", "--isolation", "container")
    assert refused.code == 2 and not (tmp_path / "out" / "evidence").exists()


def test_results_name_the_isolation_in_every_output(graded):
    """A sandboxed grading says so too: results.json, both reports, result.md."""
    folder = graded["crash"]
    results = json.loads((folder / "results.json").read_text())
    label = results["extra_data"]["environment"]["isolation_label"]
    assert results["extra_data"]["isolation"] == isolation.SANDBOX and label.startswith("isolation: sandbox (bubblewrap)")
    for name in ("report.html", "report-instructor.html"):
        assert str(html_escape(label)) in (folder / name).read_text()
