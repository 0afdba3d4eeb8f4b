"""Code the grader injects into the student's process (see sitecustomize.py)."""

from pathlib import Path

SITE_DIR = Path(__file__).resolve().parent  # goes first on the student's PYTHONPATH
