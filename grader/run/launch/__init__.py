"""Scripts run by path in the student's process tree (never imported by the grader): each sits
in this folder alone so that its folder, first on sys.path, shadows nothing."""

from pathlib import Path

LAUNCH_DIR = Path(__file__).resolve().parent
NOTEBOOK_RUNNER = LAUNCH_DIR / "notebook_runner.py"
