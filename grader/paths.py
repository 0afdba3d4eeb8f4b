"""Where the project's data directories and the grader's cache live.

The data directories (reference/, rubrics/, templates/) are found, in order: under $GRADER_HOME
(an instructor's own copy), inside the installed package (`pip install .` puts them in
grader/_home/), or at the top of the checkout (an editable install, the tests)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGED_HOME = Path(__file__).resolve().parent / "_home"  # written by setup.py's build step
CHECKOUT_HOME = Path(__file__).resolve().parent.parent


def _home() -> Path:
    if os.environ.get("GRADER_HOME"):
        return Path(os.environ["GRADER_HOME"]).expanduser().resolve()
    return PACKAGED_HOME if PACKAGED_HOME.is_dir() else CHECKOUT_HOME


PROJECT_ROOT = _home()
REFERENCE_DIR = PROJECT_ROOT / "reference"
PROFILES_DIR = REFERENCE_DIR / "profiles"
CALIBRATION_DIR = REFERENCE_DIR / "calibration"
TEMPLATES_DIR = PROJECT_ROOT / "templates"


def cache_dir() -> Path:
    """Generated models and tokenizers; GRADER_CACHE overrides the per-user default."""
    base = os.environ.get("GRADER_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mindnlp-ia3-grader"
    return Path(base)


def lock_file() -> Path:
    """requirements.lock, the tested versions: beside the data directories (an instructor's
    GRADER_HOME may lack it), else in the installed package, else in the checkout."""
    for home in (PROJECT_ROOT, PACKAGED_HOME, CHECKOUT_HOME):
        if (home / "requirements.lock").is_file():
            return home / "requirements.lock"
    raise FileNotFoundError("requirements.lock is neither in the grader's package nor in its checkout")
