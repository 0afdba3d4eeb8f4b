"""The README says what the command does: its reference names every command and option the
parser has, its exit-status table is the command's, and the instructor's and course CI's paths
run as written (with the tiny profile: no RoBERTa-large or NPU on the test machine). The
student's path is run from a real `pip install .` in tests/install/test_pip_install.py."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from grader import cli
from grader.commands import arguments
from tests.helpers import ROOT, SUBMISSIONS, readme_commands

README = (ROOT / "README.md").read_text()


def section(title_start: str) -> str:
    start = README.index(f"\n### `{title_start}")
    end = README.find("\n## ", start + 1)
    nxt = README.find("\n### ", start + 1)
    return README[start : min(x for x in (end, nxt) if x != -1)]


@pytest.mark.parametrize("name", list(cli.HANDLERS))
def test_the_reference_names_every_option_of_every_command(name):
    parser = arguments.build_parser()._subparsers._group_actions[0].choices[name]
    text = section(f"grade {name}")
    for action in parser._actions:
        for option in action.option_strings:
            if option not in ("-h", "--help"):
                assert f"`{option}" in text, f"grade {name}: {option} is not in the README's reference"
        if not action.option_strings:
            assert f"`{action.metavar}" in text, f"grade {name}: {action.metavar} is not in the README's reference"


def test_one_exit_status_table_matches_the_command():
    table = README[README.index("\n## Exit status") :]
    table = table[: table.index("\n## ", 5)]
    documented = re.findall(r"^\| `(\d+)` \|", table, flags=re.M)
    assert documented == re.findall(r"^  (\d+)\s", arguments.EXIT_CODES, flags=re.M) == ["0", "1", "2", "3", "130"]
    assert README.count("\n## Exit status") == 1


def test_each_path_has_commands():
    for heading in ("### Student", "### Instructor", "### Course CI"):
        assert readme_commands(heading), heading


def run_line(line: str, cwd, env, substitutions: dict[str, str]) -> subprocess.CompletedProcess:
    for old, new in substitutions.items():
        line = line.replace(old, new)
    argv = [re.sub(r"\$(\w+)", lambda m: env[m.group(1)], word) for word in shlex.split(line)]  # as the shell would, from `env`
    assert argv[0] == "grade"
    return subprocess.run([sys.executable, "-m", "grader.cli", *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def environment(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_PROFILE", "GRADER_MODEL_DIR_ROBERTA_LARGE", "GITHUB_OUTPUT")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}  # this checkout's grader, from any folder


@pytest.mark.slow
def test_the_instructor_path_runs_as_written(tmp_path, tiny_model_dir):
    shutil.copytree(SUBMISSIONS / "good", tmp_path / "alice")
    shutil.copytree(SUBMISSIONS / "crash", tmp_path / "bob")
    (tmp_path / "roster.csv").write_text("student,submission\nalice,alice\nbob,bob\n")
    statuses = []
    for line in readme_commands("### Instructor"):
        done = run_line(line, tmp_path, environment(), {"--profile roberta-large": "--profile tiny"})
        statuses.append((line.split()[1], done.returncode))
        assert done.returncode in (0, 1), f"{line}\n{done.stdout}\n{done.stderr}"
    assert statuses == [("prepare", 0), ("batch", 1), ("summary", 0)]  # bob's crash fails the batch
    assert json.loads((tmp_path / "class" / "alice" / "scored.json").read_text())["verdict"] == "passed"
    assert (tmp_path / "class" / "summary.html").is_file() and (tmp_path / "class" / "gradebook.csv").is_file()


@pytest.mark.slow
def test_the_course_ci_path_runs_as_written_and_its_log_holds_nothing_withheld(tmp_path, tiny_model_dir):
    workspace = shutil.copytree(SUBMISSIONS / "good", tmp_path / "repo")
    output = tmp_path / "github-output"
    env = environment(GITHUB_WORKSPACE=str(workspace), RUNNER_TEMP=str(tmp_path / "runner"), GITHUB_OUTPUT=str(output))
    (line,) = readme_commands("### Course CI")
    done = run_line(line, tmp_path, env, {"--profile roberta-large": "--profile tiny"})
    assert done.returncode == 0, done.stdout + done.stderr
    results = tmp_path / "runner" / "grade-results"
    assert output.read_text().startswith("run=") and (results / "classroom-result.txt").is_file()  # one line per Classroom runner
    scored = json.loads((results / "scored.json").read_text())
    for hidden in (c for c in scored["criteria"] if c["visibility"] == "hidden"):
        assert hidden["name"] not in done.stdout and hidden["message"] not in done.stdout
    assert "[withheld]" in done.stdout and "run:" in done.stdout  # plain progress lines in a CI log
    assert "Modular Diffusers" not in done.stdout + done.stderr  # library chatter stays in the log
    assert "Modular Diffusers" in (results / "evidence" / "logs" / "evaluator.log").read_text()  # MindNLP's, in the evaluator
