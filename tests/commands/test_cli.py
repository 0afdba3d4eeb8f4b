"""The `grade` command as a user meets it: help, version, mistakes answered with the closest
command or option, exit statuses, where results go, which profile a student with nothing
configured gets, and what the terminal shows (never a withheld criterion)."""

from __future__ import annotations

import io
import json
import os
import sys
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console

import grader
from grader import cli
from grader.commands import progress, selfcheck
from grader.course import profiles
from tests.helpers import ROOT


def test_help_lists_every_command_each_with_its_own_help(capsys):
    assert cli.main(["--help"]) == 0
    top = capsys.readouterr().out
    for name in cli.HANDLERS:
        assert f"\n    {name}" in top, name
        assert cli.main([name, "--help"]) == 0
        own = capsys.readouterr().out
        assert own.startswith(f"usage: grade {name}"), own[:80]
    assert "exit status" in top and "130" in top


def test_version_names_the_package_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"grade {grader.__version__}"


@pytest.mark.parametrize(
    "argv, suggestion",
    [
        (["bacth", "roster.csv"], "did you mean `grade batch`?"),
        (["chek", "sub"], "did you mean `grade check`?"),
        (["--profle", "tiny", "X"], "unknown option --profle; did you mean --profile?"),
        (["batch", "roster.csv", "--outt", "class"], "unknown option --outt; did you mean --out?"),
        (["rescore", "folder", "--rubirc", "r.yaml"], "did you mean --rubric?"),
        (["X", "--dat", "mrpc"], "unknown option --dat; did you mean --data?"),  # never an abbreviation of --data
        (["batch", "roster.csv", "--ou", "class"], "unknown option --ou; did you mean --out?"),
        (["autograder", "github", "--ou", "x"], "unknown option --ou; did you mean --out?"),
    ],
)
def test_a_mistyped_command_or_option_gets_the_closest_one_and_status_2(argv, suggestion, capsys):
    assert cli.main(argv) == 2
    assert suggestion in capsys.readouterr().err


def test_an_existing_folder_named_like_a_command_is_a_submission(tmp_path, monkeypatch, capsys):
    (tmp_path / "bacth").mkdir()
    monkeypatch.chdir(tmp_path)
    assert cli.main(["bacth", "--profile", "nope"]) == 2  # taken as a submission: the profile is what fails
    err = capsys.readouterr().err
    assert "unknown profile 'nope'" in err and "did you mean `grade" not in err


def test_a_submission_that_is_not_there_is_reported_before_any_banner(unconfigured, tmp_path, capsys):
    assert cli.main([str(tmp_path / "my_submisson")]) == 2
    captured = capsys.readouterr()
    assert f"submission {tmp_path / 'my_submisson'} does not exist" in captured.err
    assert "self-check" not in captured.out + captured.err and not (tmp_path / "grade-results").exists()


def test_the_late_message_names_a_missing_time_once():
    from grader.intake import submitted
    from grader.scoring.rubric import LatePolicy
    from grader.scoring.score import late_penalty

    _, source = submitted.determine(ROOT / "submissions" / "good", None)
    policy = LatePolicy(deadline=datetime.fromisoformat("2026-01-01T00:00:00+00:00"), penalty_per_day_percent=10)
    message = late_penalty(policy, None, source).message
    assert message.startswith("submission time unknown: no late penalty applied (") and "unknown (" not in message, message


def test_default_out_lies_outside_the_submission_folder(tmp_path, monkeypatch):
    sub = tmp_path / "my_submission"
    (sub / "src").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert cli.default_out("my_submission") == Path("grade-results/my_submission")
    monkeypatch.chdir(sub)
    assert cli.default_out(".") == tmp_path.resolve() / "grade-results" / "my_submission"
    monkeypatch.chdir(sub / "src")
    assert cli.default_out(str(sub)) == tmp_path.resolve() / "grade-results" / "my_submission"
    assert cli.default_out("https://example.org/alice/ia3.git") == Path("grade-results/ia3")


@pytest.fixture
def unconfigured(monkeypatch, tmp_path):
    """A student's machine: no profile chosen, no course model, no accelerator device files."""
    for name in (selfcheck.PROFILE_ENV, "GRADER_MODEL_DIR_ROBERTA_LARGE"):
        monkeypatch.delenv(name, raising=False)
    devices = tmp_path / "dev"
    devices.mkdir()
    monkeypatch.setenv("GRADER_DEVICE_ROOT", str(devices))
    return devices


def test_a_student_without_the_course_model_gets_a_labelled_self_check_on_tiny(unconfigured):
    choice = selfcheck.choose(None, None, None)
    assert choice.profile.name == "tiny"
    for says in ("not on this machine", "It shows", "It does not show", "--profile roberta-large", "GRADER_MODEL_DIR_ROBERTA_LARGE"):
        assert says in choice.banner


def test_with_the_model_but_not_the_device_the_self_check_runs_on_the_cpu_and_says_so(unconfigured, tmp_path, monkeypatch):
    model = tmp_path / "roberta-large"
    model.mkdir()
    (model / "config.json").write_text((ROOT / "reference" / "profiles" / "roberta-large.config.json").read_text())
    monkeypatch.setenv("GRADER_MODEL_DIR_ROBERTA_LARGE", str(model))
    choice = selfcheck.choose(None, None, None)
    assert (choice.profile.name, choice.device) == ("roberta-large", "cpu")
    assert "no Ascend device" in choice.banner and "CPU" in choice.banner
    (unconfigured / "davinci0").touch()
    assert selfcheck.choose(None, None, None) == selfcheck.Choice(profiles.load("roberta-large"), None)


def test_a_named_profile_is_never_replaced(unconfigured, capsys, tmp_path):
    choice = selfcheck.choose("roberta-large", None, None)
    assert (choice.profile.name, choice.device, choice.banner) == ("roberta-large", None, None)
    assert cli.main([str(tmp_path), "--profile", "roberta-large", "--out", str(tmp_path / "o")]) == 2
    assert "GRADER_MODEL_DIR_ROBERTA_LARGE" in capsys.readouterr().err


def test_library_output_goes_to_the_log_not_the_terminal(tmp_path, capfd):
    log = tmp_path / "grader.log"
    with progress.library_output_to(log):
        os.write(2, b"C++ warning from a runtime\n")
        print("python-level stderr", file=sys.stderr)
    print("after", file=sys.stderr)
    err = capfd.readouterr().err
    assert "runtime" not in err and "python-level" not in err and "after" in err
    kept = log.read_text()
    assert "C++ warning from a runtime" in kept and "python-level stderr" in kept


def test_tail_shows_the_last_state_of_a_redrawn_progress_bar(tmp_path):
    log = tmp_path / "stdout.txt"
    log.write_text("loading\nepoch 1\r 10%|#   |\r 50%|##  |\r100%|####|\nloss 0.69\n\n")
    assert progress.tail(log, 3) == ["loading", "100%|####|", "loss 0.69"]  # a carriage return redraws the line
    assert progress.tail(tmp_path / "missing.txt") == []


def test_live_progress_shows_phases_elapsed_time_and_the_students_last_lines(tmp_path):
    (tmp_path / "stdout.txt").write_text("epoch 0 loss 0.6931\nepoch 1 loss 0.6512\n")
    screen = io.StringIO()
    out = Console(file=screen, force_terminal=True, width=100, color_system=None)
    shown = progress.for_terminal(out, "grading my_submission on tiny")
    assert isinstance(shown, progress.LiveProgress)
    shown.phase("fetch", "my_submission")
    shown.phase("run", "train.py on CPU, budget 300 s")
    shown.running(12.4, 300, tmp_path)
    shown.finished()
    text = screen.getvalue()
    for part in ("grading my_submission on tiny", "fetch", "run", "epoch 1 loss 0.6512"):
        assert part in text, part
    plain = io.StringIO()
    assert isinstance(progress.for_terminal(Console(file=plain), "x"), progress.PlainProgress)


@pytest.mark.slow
def test_the_terminal_never_shows_withheld_criteria_unless_instructor(graded, tmp_path, capsys):
    """Rescoring a stored result prints as grading does; the hidden checks' names and details
    (held-out test metrics) appear only with --instructor."""
    assert cli.main(["rescore", str(graded["good"]), "--out", str(tmp_path / "student")]) == 0  # good passes
    student = capsys.readouterr().out
    scored = json.loads((tmp_path / "student" / "scored.json").read_text())
    hidden = [c for c in scored["criteria"] + scored["unscored"] if c["visibility"] == "hidden"]
    assert {c["check"] for c in hidden} >= {"test_metrics", "claimed_metrics"}
    test_message = next(c["message"] for c in hidden if c["check"] == "test_metrics")
    assert "test accuracy" in test_message
    for c in hidden:
        assert c["name"] not in student and c["message"] not in student
    assert f"[withheld] {len(hidden)} criteria" in student
    assert "\nSELF-CHECK PASSED: 75/75 (not a course grade)  ->  " in student  # tiny: random weights, as the report says
    collapse = next(line for line in student.splitlines() if "not collapsed to one class" in line)  # informational on tiny
    assert collapse.startswith("[   info] 0/0 "), collapse  # a check worth nothing never prints as the student's failure
    assert cli.main(["rescore", str(graded["good"]), "--out", str(tmp_path / "teacher"), "--instructor"]) == 0
    instructor = capsys.readouterr().out
    assert all(c["name"] in instructor for c in hidden) and test_message in instructor
