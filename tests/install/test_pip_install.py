"""The README's install line (`python3.11 -m venv ... && pip install --no-deps -r requirements.lock .`),
run as written into a fresh virtual environment, gives a `grade` that works from any folder: the
locked stack installs from the lock, the data directories travel inside the package, GRADER_HOME
still overrides them, and the README's student path runs as written with nothing configured but
--data. pip installs without byte-compiling (INSTALL_ENV in bundle_helpers.py): about a minute
for the 3.5-GB stack from the machine's package index."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess

import pytest

import grader
from tests.commands.bundle_helpers import INSTALL_ENV
from tests.helpers import MRPC_DIR, ROOT, SUBMISSIONS, readme_commands

SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "requirements.lock", "grader", "reference", "rubrics", "templates")


def readme_install_line() -> str:
    """The first command of the README's Student block: the install line."""
    text = (ROOT / "README.md").read_text()
    block = text[text.index("\n### Student\n") :]
    block = block[block.index("```bash\n") + 8 :]
    return next(line for line in block.splitlines() if line.strip() and not line.startswith("#"))


def run(argv, cwd, env, timeout=900):
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.e2e_rare
def test_the_readme_install_line_gives_a_grade_that_works_from_any_folder(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    venv = tmp_path / "venv"
    install = readme_install_line()
    assert "--no-deps -r requirements.lock ." in install and "~/grader-env" in install
    shell_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))} | INSTALL_ENV
    done = run(["bash", "-euo", "pipefail", "-c", install.replace("~/grader-env", str(venv))], source, shell_env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    site = run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path, {})
    site_dir = site.stdout.strip()
    assert site_dir.startswith(str(venv)) and os.path.isdir(os.path.join(site_dir, "mindnlp")), site.stderr  # the stack, from the lock
    for tool in ("ray", "pytest", "ruff"):  # the grader's own tools are not a student's to install
        assert not os.path.exists(os.path.join(site_dir, tool)), tool

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADER_", "PYTHON"))}
    env.update(PATH=f"{venv / 'bin'}:{env['PATH']}", GRADER_CACHE=str(tmp_path / "cache"))  # nothing built yet
    grade = str(venv / "bin" / "grade")

    version = run([grade, "--version"], elsewhere, env)
    assert version.stdout.strip() == f"grade {grader.__version__}", version.stderr
    where = run([str(venv / "bin" / "python"), "-c", "import grader.paths as p; print(p.PROJECT_ROOT)"], elsewhere, env)
    assert where.stdout.strip() == os.path.join(site_dir, "grader", "_home")
    for data_dir in ("reference/profiles/tiny.toml", "reference/offline.toml", "rubrics/default.yaml", "templates/report.html.j2"):
        assert os.path.isfile(os.path.join(site_dir, "grader", "_home", data_dir)), data_dir
    course = run([grade, "autograder", "github", "--classroom", "--out", "course"], elsewhere, env)  # templates and lock ship
    assert course.returncode == 0, course.stderr
    assert (elsewhere / "course" / ".github" / "grader" / "requirements.lock").read_text() == (ROOT / "requirements.lock").read_text()

    home = tmp_path / "my-home"
    shutil.copytree(os.path.join(site_dir, "grader", "_home"), home)
    shutil.copy2(home / "reference" / "profiles" / "tiny.toml", home / "reference" / "profiles" / "course-tiny.toml")
    (elsewhere / "x").mkdir()
    unknown = run([grade, "x", "--profile", "nope"], elsewhere, {**env, "GRADER_HOME": str(home)})
    assert unknown.returncode == 2 and "(available: course-tiny, roberta-large, tiny)" in unknown.stderr

    student = shutil.copytree(SUBMISSIONS / "good", elsewhere / "my_submission")
    no_data = run([grade, "check", "my_submission"], elsewhere, env)
    assert no_data.returncode == 2 and all(way in no_data.stderr for way in ("--data DIR", "GRADER_MRPC_DIR=DIR", "--data hub"))

    outputs = []
    for line in readme_commands("### Student"):
        argv = shlex.split(line.replace("~/mrpc", str(MRPC_DIR)))
        done = run([grade, *argv[1:]], elsewhere, env)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    check, graded = outputs
    assert "gradients reached the IA3 vectors and the head only" in check
    assert "== self-check ==" in graded and "PASSED" in graded
    assert (elsewhere / "grade-results" / "my_submission" / "report.html").is_file()
    assert sorted(p.name for p in student.iterdir()) == sorted(p.name for p in (SUBMISSIONS / "good").iterdir())
