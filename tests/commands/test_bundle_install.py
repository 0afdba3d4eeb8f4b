"""The GitHub course bundle installs and grades as generated, from a clean folder, with only the
package registries reachable: the workflow's steps run in order as a runner would run them (its
`uses:` steps played by what they do: the checkout is the course folder, setup-python is this
machine's Python 3.11, the cache restores a hub copy of GLUE-MRPC that stands in for the hub).
The Gradescope bundle's install is in test_gradescope_bundle_install.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from grader import cli
from tests.commands.bundle_helpers import bash, clean_env
from tests.helpers import MRPC_DIR, SUBMISSIONS

pytestmark = pytest.mark.e2e_rare


def hub_stand_in(home: Path) -> None:
    """What the workflow's cache step restores after a first `grade prepare --data hub`: the hub's
    train and validation splits (no labelled test split) in the grader's cache."""
    hub = home / ".cache" / "mindnlp-ia3-grader" / "mrpc-hub"
    hub.mkdir(parents=True)
    for split in ("train", "validation"):
        shutil.copyfile(MRPC_DIR / f"{split}.jsonl", hub / f"{split}.jsonl")


def expand(script: str, outputs: dict[str, dict[str, str]]) -> str:
    """GitHub's `${{ steps.ID.outputs.NAME }}` as the runner fills it in; any other expression
    in a run step is one this stand-in does not know, and fails the test."""

    def value(match: re.Match) -> str:
        found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", match.group(1).strip())
        assert found, f"an expression the test does not play: {match.group(0)}"
        return outputs.get(found.group(1), {}).get(found.group(2), "")

    return re.sub(r"\$\{\{(.*?)\}\}", value, script)


@pytest.fixture(scope="module")
def workflow_run(tmp_path_factory):
    """A course repository holding `good` and the generated workflow; every step run in order."""
    root = tmp_path_factory.mktemp("github")
    workspace = shutil.copytree(SUBMISSIONS / "good", root / "course")
    assert cli.main(["autograder", "github", "--out", str(workspace)]) == 0
    job = yaml.safe_load((workspace / ".github" / "workflows" / "grade.yml").read_text())["jobs"]["grade"]
    home, runner_temp = root / "home", root / "runner-temp"
    runner_temp.mkdir()
    files = {name: root / name for name in ("github-path", "github-env", "github-output", "summary.md")}
    for path in files.values():
        path.write_text("")
    env = clean_env(
        HOME=str(home),
        GITHUB_WORKSPACE=str(workspace),
        RUNNER_TEMP=str(runner_temp),
        GITHUB_PATH=str(files["github-path"]),
        GITHUB_ENV=str(files["github-env"]),
        GITHUB_OUTPUT=str(files["github-output"]),
        GITHUB_STEP_SUMMARY=str(files["summary.md"]),
    ) | {k: str(v) for k, v in job["env"].items()}
    python_dir = Path(shutil.which("python3.11", path=env["PATH"])).parent
    steps, outputs = {}, {}
    for step in job["steps"]:
        uses = step.get("uses", "")
        if uses.startswith("actions/setup-python"):
            env["PATH"] = f"{python_dir}:{env['PATH']}"
        elif uses.startswith("actions/cache"):
            hub_stand_in(home)
        if "run" not in step:
            continue
        added = [line for line in files["github-path"].read_text().splitlines() if line]
        step_env = env | {"PATH": ":".join([*reversed(added), env["PATH"]])}
        step_env |= dict(line.split("=", 1) for line in files["github-env"].read_text().splitlines() if "=" in line)
        files["github-output"].write_text("")  # each step has a file of its own
        steps[step["name"]] = done = bash(expand(step["run"], outputs), workspace, step_env)
        outputs[step.get("id", "")] = dict(line.split("=", 1) for line in files["github-output"].read_text().splitlines() if "=" in line)
        if done.returncode != 0:
            break
    return {"steps": steps, "runner_temp": runner_temp, "outputs": outputs}


def test_the_github_workflow_installs_the_grader_it_carries_and_grades(workflow_run):
    steps = workflow_run["steps"]
    for name, done in steps.items():
        assert done.returncode == 0 or name.startswith("Fail"), f"{name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    grade_bin = workflow_run["runner_temp"] / "grader-env" / "bin" / "grade"
    assert grade_bin.is_file(), "the install step left no grade command"
    verdict = steps.get("Fail when a required criterion failed")
    assert verdict is not None and verdict.stdout.strip() == "passed", verdict
    scored = json.loads((workflow_run["runner_temp"] / "grade-results" / "scored.json").read_text())
    assert scored["score"] == 75, scored
    assert workflow_run["outputs"]["grade"]["status"] == "0"
    # the grader that graded is the one installed from the carried wheel, not this checkout
    where = [str(grade_bin.parent / "python"), "-c", "import grader; print(grader.__file__)"]
    shown = subprocess.run(where, capture_output=True, text=True, env=clean_env(), cwd=workflow_run["runner_temp"])
    assert str(workflow_run["runner_temp"] / "grader-env") in shown.stdout, shown
