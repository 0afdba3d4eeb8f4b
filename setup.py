"""Build step: the data directories kept at the repository's top level (reference/, rubrics/,
templates/) and requirements.lock are copied into the built package as grader/_home/, so that `pip install .` and
`pipx install` give a grader that finds its profiles, rubrics and templates from any folder.
An editable install reads them from the checkout instead (see grader/paths.py)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA_DIRS = ("reference", "rubrics", "templates")
DATA_FILES = ("requirements.lock",)  # the tested versions, which `grade autograder` copies into a course's CI
PACKAGED_HOME = Path("grader") / "_home"


class BuildWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name in DATA_DIRS:
            target = Path(self.build_lib) / PACKAGED_HOME / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name in DATA_FILES:
            shutil.copyfile(ROOT / name, Path(self.build_lib) / PACKAGED_HOME / name)


setup(cmdclass={"build_py": BuildWithData})
