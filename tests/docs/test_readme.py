"""The README says what the command does: its reference names every command and option the
parser has, its exit-status table is the command's, and the instructor's and course CI's paths
run as written (with the tiny profile: no RoBERTa-large or NPU on the test machine). The
student's path is run from a real `pip install .` in tests/install/test_pip_install.py."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from grader import cli
from grader.commands import arguments
from tests.helpers import ROOT, SUBMISSIONS, readme_commands, readme_environment, run_readme_line

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


def test_the_instructor_path_runs_as_written(class_batch):
    """The class of conftest.py, graded by the README's instructor lines as written (on tiny)."""
    assert class_batch.statuses == [("prepare", 0), ("batch", 1), ("summary", 0)]  # bob's crash fails the batch
    out = class_batch.out
    assert json.loads((out / "alice" / "scored.json").read_text())["verdict"] == "passed"
    assert [row.split(",")[0] for row in (out / "gradebook.csv").read_text().splitlines()[1:]] == ["alice", "bob"]
    summary = (out / "summary.html").read_text()  # `grade summary class/alice class/bob`: those two only
    assert "alice/report-instructor.html" in summary and "bob/report-instructor.html" in summary and "Grace Hopper" not in summary


@pytest.mark.slow
def test_the_course_ci_path_runs_as_written_and_its_log_holds_nothing_withheld(tmp_path, tiny_model_dir):
    workspace = shutil.copytree(SUBMISSIONS / "good", tmp_path / "repo")
    output = tmp_path / "github-output"
    env = readme_environment(GITHUB_WORKSPACE=str(workspace), RUNNER_TEMP=str(tmp_path / "runner"), GITHUB_OUTPUT=str(output))
    (line,) = readme_commands("### Course CI")
    done = run_readme_line(line, tmp_path, env, {"--profile roberta-large": "--profile tiny"})
    assert done.returncode == 0, done.stdout + done.stderr
    results = tmp_path / "runner" / "grade-results"
    assert output.read_text().startswith("run=") and (results / "classroom-result.txt").is_file()  # one line per Classroom runner
    scored = json.loads((results / "scored.json").read_text())
    for hidden in (c for c in scored["criteria"] if c["visibility"] == "hidden"):
        assert hidden["name"] not in done.stdout and hidden["message"] not in done.stdout
    assert "[withheld]" in done.stdout and "run:" in done.stdout  # plain progress lines in a CI log
    assert "Modular Diffusers" not in done.stdout + done.stderr  # library chatter stays in the log
    assert "Modular Diffusers" in (results / "evidence" / "logs" / "evaluator.log").read_text()  # MindNLP's, in the evaluator
