"""Where the project's data directories and the grader's cache live."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("GRADER_HOME") or Path(__file__).resolve().parent.parent)
REFERENCE_DIR = PROJECT_ROOT / "reference"
PROFILES_DIR = REFERENCE_DIR / "profiles"
CALIBRATION_DIR = REFERENCE_DIR / "calibration"
TEMPLATES_DIR = PROJECT_ROOT / "templates"


def cache_dir() -> Path:
    """Generated models and tokenizers; GRADER_CACHE overrides the per-user default."""
    base = os.environ.get("GRADER_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mindnlp-ia3-grader"
    return Path(base)
