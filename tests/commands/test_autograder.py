"""`grade autograder`: each template run as far as this machine allows. Gradescope's run_autograder
grades bundled submissions end to end in a temporary AUTOGRADER_ROOT; the GitHub workflow is
parsed and its structure checked (triggers, permissions, steps, the reporter's inputs and env),
and its grading step's shell is run with the environment the workflow gives it; the Dockerfile
is read with a Dockerfile parser and held to install.sh and the lock. Not run here: GitHub's
runners, Gradescope's image build (setup.sh), `docker build` (no Docker daemon on this machine)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import jsonschema
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from grader import cli
from grader.outputs import classroom
from grader.scoring import rubric
from tests.commands.bundle_helpers import gradescope_submission, late_by_submission_time
from tests.helpers import MRPC_DIR, ROOT, SUBMISSIONS
from tests.install.test_pip_install import SOURCES  # what `pip install .` needs, as the install test copies it
from tests.outputs.classroom_reporter import decode_output, read
from tests.outputs.test_outputs import GRADESCOPE

RUNNERS_INPUT = re.compile(r"^([a-zA-Z0-9]+,)*[a-zA-Z0-9]+$")  # what the reporter's error path accepts (src/main.js)


def generate(*argv: str) -> int:
    return cli.main(["autograder", *argv])


# --- Gradescope ----------------------------------------------------------------------------


def autograder_root(tmp_path, submission):
    """/autograder as Gradescope lays it out: source/ from the zip, run_autograder, submission/."""
    made = tmp_path / "made"
    assert generate("gradescope", "--out", str(made), "--data", str(MRPC_DIR)) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(made / "autograder.zip") as bundle:
        names = bundle.namelist()
        assert {"setup.sh", "run_autograder", "rubric.yaml", "requirements.lock"} <= set(names)  # at the zip's top level
        assert all(bundle.getinfo(n).external_attr >> 16 & 0o111 for n in ("setup.sh", "run_autograder"))
        bundle.extractall(root / "source")
    shutil.copy2(made / "run_autograder", root / "run_autograder")
    shutil.copytree(submission, root / "submission")
    gradescope_submission(root)
    return root


def run_autograder(root, **extra) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": sys.executable, "PYTHONPATH": str(ROOT), **extra}
    env.pop("GITHUB_OUTPUT", None)
    return subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True, timeout=1200)


@pytest.mark.e2e_rare
def test_gradescope_run_autograder_grades_a_crashing_submission(tmp_path, tiny_model_dir, grader_environment):
    """`good` through the bundle's run_autograder: test_gradescope_bundle_install.py."""
    root = autograder_root(tmp_path, SUBMISSIONS / "crash")
    done = run_autograder(root, GRADER_CACHE=str(grader_environment))
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, GRADESCOPE)
    assert done.returncode == 0, done.stderr[-3000:]
    assert results["max_score"] == 75 and results["score"] < 75
    assert late_by_submission_time(root)


def test_gradescope_run_autograder_says_not_graded_when_the_grader_stops(tmp_path):
    root = autograder_root(tmp_path, SUBMISSIONS / "good")
    (root / "source" / "rubric.yaml").write_text("name: broken\ncriteria: []\n")
    done = run_autograder(root)
    assert done.returncode == 0
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, GRADESCOPE)
    assert results["score"] == 0 and results["extra_data"] == {"gradable": False, "exit_status": 2}
    assert "invalid rubric" in results["output"] and "criteria" in results["output"], results["output"]


def test_gradescope_refuses_a_profile_its_machines_cannot_train(tmp_path, capsys):
    assert generate("gradescope", "--out", str(tmp_path / "x"), "--profile", "roberta-large") == 2
    err = capsys.readouterr().err
    assert "trains on Ascend, and Gradescope's autograder machines have only a CPU." in err, err
    assert not (tmp_path / "x" / "autograder.zip").exists()


def test_a_grader_spec_no_index_serves_is_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "bundle"
    assert cli.main(["autograder", "gradescope", "--out", str(out), "--grader-spec", "mindnlp-ia3-grader==0.0.0.dev0"]) == 2
    message = capsys.readouterr().err
    assert "pip cannot install it from here" in message and "--wheel FILE" in message
    assert not (out / "autograder.zip").exists() and not (out / "setup.sh").exists()


# --- GitHub Actions --------------------------------------------------------------------------


def workflow(tmp_path, *options: str) -> tuple[dict, str]:
    assert generate("github", "--out", str(tmp_path), *options) == 0
    name = "classroom.yml" if "--classroom" in options else "grade.yml"
    text = (tmp_path / ".github" / "workflows" / name).read_text()
    return yaml.safe_load(text), text


def steps_by_name(job: dict) -> dict[str, dict]:
    return {step["name"]: step for step in job["steps"]}


def test_classroom_workflow_structure_and_reporter_wiring(tmp_path):
    data, text = workflow(tmp_path, "--classroom")
    assert set(data["on"]) == {"push", "workflow_dispatch", "repository_dispatch"}
    assert data["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    (job_id, job), *others = data["jobs"].items()
    assert job_id == "run-autograding-tests" and not others  # the check run GitHub Classroom looks for
    assert job["runs-on"] == ["ubuntu-24.04"] and job["if"] == "github.actor != 'github-classroom[bot]'"
    steps = steps_by_name(job)
    uses = [s.get("uses", "") for s in job["steps"]]
    assert uses[0] == "actions/checkout@v4" and "actions/setup-python@v5" in uses and "actions/cache@v4" in uses
    python = next(s for s in job["steps"] if s.get("uses") == "actions/setup-python@v5")["with"]
    assert python["cache"] == "pip" and (tmp_path / python["cache-dependency-path"]).is_file()
    assert (tmp_path / python["cache-dependency-path"]).read_text() == (ROOT / "requirements.lock").read_text()
    assert '--no-deps -r "$GRADER_LOCK" "$GRADER_SPEC"' in steps["Install the grader"]["run"]
    artifact = steps["Keep the student's report"]
    assert artifact["if"] == "always()" and "report.html" in artifact["with"]["path"]
    assert not any(word in artifact["with"]["path"] for word in ("results.json", "scored.json", "instructor", "evidence"))
    assert "$GITHUB_STEP_SUMMARY" in steps["Grade"]["run"]

    reporter = steps["Autograding Reporter"]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1" and reporter["if"] == "always()"
    runners = reporter["with"]["runners"]
    assert RUNNERS_INPUT.match(runners)
    ids = runners.split(",")
    assert ids == classroom.layout(rubric.load(tmp_path / ".github" / "grader" / "rubric.yaml")).ids()
    assert set(reporter["env"]) == {f"{rid.upper()}_RESULTS" for rid in ids}  # what src/main.js reads
    for rid in ids:
        assert reporter["env"][f"{rid.upper()}_RESULTS"] == f"${{{{ steps.grade.outputs.{rid} || steps.notgraded.outputs.{rid} }}}}"
    step_ids = {s.get("id") for s in job["steps"]}
    assert set(re.findall(r"steps\.(\w+)\.outputs", text)) <= step_ids
    fallback = decode_output((tmp_path / ".github" / "grader" / "not-graded.txt").read_text())
    assert [rid for rid, _ in fallback] == ids
    reading = read(fallback)
    assert reading.failed == "Some tests errored." and reading.points[0] == 0


def test_plain_workflow_fails_the_job_on_a_failed_required_criterion(tmp_path):
    data, _ = workflow(tmp_path)
    job = data["jobs"]["grade"]
    assert "permissions" in data and data["permissions"] == {"contents": "read"}
    verdict = steps_by_name(job)["Fail when a required criterion failed"]
    assert verdict["if"] == "always()"
    for status, code in (("0", 0), ("1", 1), ("2", 1), ("", 1)):
        script = verdict["run"].replace("${{ steps.grade.outputs.status }}", status)
        assert subprocess.run(["bash", "-c", script], capture_output=True).returncode == code, status


def test_workflow_for_the_course_runner_and_refusals(tmp_path, capsys):
    data, text = workflow(tmp_path / "npu", "--profile", "roberta-large")
    job = data["jobs"]["grade"]
    assert job["runs-on"] == ["self-hosted", "linux", "ascend"] and "setup-python" not in text
    assert "set_env.sh" in steps_by_name(job)["Grade"]["run"]
    assert generate("github", "--out", str(tmp_path / "x"), "--profile", "roberta-large", "--assets", "hub") == 2
    assert "hosted runner" in capsys.readouterr().err
    assert generate("github", "--out", str(tmp_path / "y"), "--assets", "release") == 2
    assert "--release-repo" in capsys.readouterr().err
    data, _ = workflow(tmp_path / "rel", "--assets", "release", "--release-repo", "course/assets")
    release = steps_by_name(data["jobs"]["grade"])["GLUE-MRPC from the course's private release"]
    assert release["env"]["GH_TOKEN"] == "${{ secrets.GRADER_ASSETS_TOKEN }}" and "gh release download" in release["run"]


@pytest.mark.slow
def test_the_classroom_grading_step_runs_locally_and_the_reporter_reads_the_score(tmp_path, tiny_model_dir, grader_environment):
    """The Grade step's shell, with what the workflow's env and GitHub give it, on a copy of `crash` (quick to
    grade; the pass is read in tests/outputs/test_classroom.py): the step itself succeeds, the reporter fails the job."""
    data, _ = workflow(tmp_path / "course", "--classroom")
    job = data["jobs"]["run-autograding-tests"]
    workspace = shutil.copytree(SUBMISSIONS / "crash", tmp_path / "workspace")
    shutil.copytree(tmp_path / "course" / ".github", workspace / ".github")
    github_output, summary, runner_temp = tmp_path / "output", tmp_path / "summary.md", tmp_path / "runner-temp"
    runner_temp.mkdir()
    bin_dir = tmp_path / "bin"  # `grade` on PATH, as the install step leaves it: this checkout's grader
    bin_dir.mkdir()
    (bin_dir / "grade").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m grader.cli "$@"\n')
    (bin_dir / "grade").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_PROFILE", "GRADER_MRPC_DIR")}
    env |= {k: str(v) for k, v in job["env"].items()}
    env |= {
        "PATH": f"{bin_dir}:{env['PATH']}",
        "PYTHONPATH": str(ROOT),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(github_output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(runner_temp),
        "GRADER_CACHE": str(grader_environment),
        "GRADER_MRPC_DIR": str(MRPC_DIR),  # the workflow's prepare step leaves the data in the cache instead
    }
    script = steps_by_name(job)["Grade"]["run"]
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=workspace, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    outputs = github_output.read_text().splitlines()
    assert "status=1" in outputs
    ids = job["steps"][-1]["with"]["runners"].split(",")
    reading = read(decode_output("\n".join(line for line in outputs if line.split("=", 1)[0] in ids)))
    scored = json.loads((runner_temp / "grade-results" / "scored.json").read_text())
    assert reading.points == (scored["score"], 75) and reading.table_total == scored["score"] and scored["score"] < 75
    assert reading.failed == "Some tests failed." and any("exited with status 1" in line for line in reading.log)
    assert summary.read_text().startswith(f"## ❌ Self-check failed: {scored['score']:g} of 75 points")
    assert (runner_temp / "grade-results" / "report.html").is_file()


# --- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_installs_the_grading_lock_and_mounts_model_and_data():
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    assert parser.baseimage.startswith("python:3.11")
    runs = [i["value"] for i in parser.structure if i["instruction"] == "RUN"]
    assert any("pip install --no-cache-dir --no-deps -r /opt/grader-src/requirements.lock" in r for r in runs)
    assert any(re.search(r"apt-get install .*\bgit\b.*\bbubblewrap\b", r) for r in runs)
    copied = set()
    for i in parser.structure:
        if i["instruction"] == "COPY":
            copied |= set(i["value"].split()[:-1])
    assert set(SOURCES) <= copied
    env = parser.envs
    volumes = json.loads(next(i["value"] for i in parser.structure if i["instruction"] == "VOLUME"))
    assert {env["GRADER_MRPC_DIR"], env["GRADER_MODEL_DIR_ROBERTA_LARGE"], env["GRADER_CACHE"]} == set(volumes)
    assert json.loads(next(i["value"] for i in parser.structure if i["instruction"] == "ENTRYPOINT")) == ["grade"]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert all(f"!{name}" in ignored or f"!{name}/" in ignored for name in SOURCES)
