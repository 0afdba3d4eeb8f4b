"""Where a profile's base model comes from: built into the cache for a generated profile,
checked for a local one. Kept apart from profiles.py so that profiles stay plain data."""

from __future__ import annotations

from pathlib import Path

from grader.course.profiles import Profile
from grader.course.tiny_model import ensure_tiny_model
from grader.errors import CannotGrade


def ensure(profile: Profile, mrpc_dir: Path | None) -> Path:
    """The model directory; a generated model is built on first use from `mrpc_dir`."""
    if profile.source == "generated":
        if mrpc_dir is None:
            raise CannotGrade(f"profile {profile.name!r} builds its model from the MRPC training text: pass --data DIR")
        return ensure_tiny_model(profile, mrpc_dir)
    path = profile.model_dir()
    if not (path / "config.json").is_file():
        raise CannotGrade(f"model directory {path} has no config.json (profile {profile.name!r})")
    return path
