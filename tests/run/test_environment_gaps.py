"""A module the student interpreter lacks is named as an environment gap with how to supply it,
not as the student's error; the grader's own environment carries what course notebooks import."""

import subprocess
import sys

import pytest
from nbformat.v4 import new_code_cell, new_notebook, writes

from grader.checks.judgement import FAILED, PASSED
from grader.evidence import diagnose
from tests import helpers

PLOTTING_NOTEBOOK = (
    "%matplotlib inline\nimport matplotlib.pyplot as plt",
    "plt.plot([0, 1], [0.5, 0.8])\nplt.title('validation accuracy')",
    "import os\nprint('done', os.getpid())",
)


def write_notebook(folder):
    folder.mkdir()
    (folder / "homework.ipynb").write_text(writes(new_notebook(cells=[new_code_cell(s) for s in PLOTTING_NOTEBOOK])))
    return folder


def interpreter_without(tmp_path, module: str) -> str:
    """A virtual environment that sees the grader's packages (a .pth file) except `module`, as a
    course image without it would be: importing it raises ModuleNotFoundError."""
    env = tmp_path / f"no-{module}"
    site = helpers.venv_over_this_environment(env, "import block_module")
    (site / "block_module.py").write_text(
        "import sys\n"
        "class Absent:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] == {module!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Absent())\n"
    )
    return str(env / "bin" / "python")


@pytest.mark.slow
def test_a_plotting_notebook_on_an_interpreter_without_matplotlib_is_named_an_environment_gap(tmp_path):
    python = interpreter_without(tmp_path, "matplotlib")
    done = helpers.grade(write_notebook(tmp_path / "sub"), tmp_path / "out", "--python", python)
    assert done.statuses["run"] == FAILED
    message = done.messages["run"]
    assert "cell In [1], line 1 (`%matplotlib inline`) raised ModuleNotFoundError" in message
    assert "environment gap: the student interpreter has no module 'matplotlib'" in message
    assert "not an error in the student's code" in message and "--python" in message and "pip install --no-deps matplotlib" in message


@pytest.mark.slow
def test_the_same_notebook_runs_in_the_graders_own_interpreter(tmp_path):
    """The grader's environment carries matplotlib (requirements.lock), so the plot cell runs."""
    done = helpers.grade(write_notebook(tmp_path / "sub"), tmp_path / "out")
    assert done.statuses["run"] == PASSED, done.messages["run"]
    assert "done" in done.stdout


def test_course_notebook_libraries_import_in_the_graders_environment():
    code = "import matplotlib, pandas, tqdm, sklearn, evaluate; from sklearn.metrics import f1_score; print(f1_score([0, 1], [0, 1]))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "1.0", done.stderr[-2000:]


def test_a_module_no_course_image_carries_is_named_without_blaming_the_environment():
    stderr = "Traceback (most recent call last):\n  File \"train.py\", line 1\nModuleNotFoundError: No module named 'wandb'\n"
    found = diagnose.diagnose(stderr, 1, False)
    assert len(found) == 1 and "no module 'wandb'" in found[0] and "environment gap" not in found[0]
    assert "if it is a file of the submission, it was not handed in" in found[0]
    # a submodule missing from an installed package is not a missing package; a run that went on is not diagnosed
    assert diagnose.diagnose("ModuleNotFoundError: No module named 'sklearn.metrics.foo'\n", 1, False) == []
    assert diagnose.diagnose("ModuleNotFoundError: No module named 'matplotlib'\n", 0, False) == []
