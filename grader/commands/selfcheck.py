"""Which profile and device `grade SUBMISSION` uses when the user configured nothing.

An instructor names a profile (--profile or $GRADER_PROFILE) or a model (--model-dir); then the
grader does exactly that and a missing model or device is an error. A student on a laptop names
nothing: where the course's model is not available the submission is graded on the `tiny`
profile, and where the model is there but the profile's device is not, on the CPU; either way a
banner says so, what that shows and what it does not, and how to run the full check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from grader.course import profiles
from grader.course.profiles import Profile
from grader.errors import CannotGrade
from grader.outputs import self_check
from grader.run import devices

COURSE_PROFILE = "roberta-large"
SELF_CHECK_PROFILE = "tiny"
PROFILE_ENV = "GRADER_PROFILE"


@dataclass(frozen=True)
class Choice:
    profile: Profile
    device: str | None  # None: the profile's own
    banner: str | None = None  # why this is not the course's full grading, when it is not


def configured(profile_arg: str | None, model_dir: str | None) -> bool:
    return bool(profile_arg or os.environ.get(PROFILE_ENV) or model_dir)


def named_profile(profile_arg: str | None, model_dir: str | None) -> Profile:
    """The profile the instructor named (--profile, else $GRADER_PROFILE), else the course's."""
    return profiles.load(profile_arg or os.environ.get(PROFILE_ENV) or COURSE_PROFILE, model_dir)


def _model_available(profile: Profile) -> bool:
    try:
        return (profile.model_dir() / "config.json").is_file()
    except CannotGrade:
        return False


def tiny_banner(course: Profile) -> str:
    where = f"--model-dir DIR or {course.dir_env}=DIR" if course.dir_env else "--model-dir DIR"
    return (
        f"The course model ({course.name}) is not on this machine, so this is a self-check on the "
        f"`{SELF_CHECK_PROFILE}` profile: a 2-layer RoBERTa with random weights, on the CPU, with "
        "128 training pairs.\n"
        f"It shows: {self_check.SHOWS}.\n"
        f"It does not show: {self_check.DOES_NOT_SHOW}.\n"
        f"Full check: grade SUBMISSION --profile {course.name} with {where} (on a machine with its {course.device} device, "
        "or add --device cpu)."
    )


def cpu_banner(course: Profile) -> str:
    return (
        f"This machine has no {course.device} device, the `{course.name}` profile's; as a self-check "
        f"the run goes on the CPU instead. It is the full check otherwise, but far slower "
        f"({course.name} on a CPU can run past the {course.budget_seconds:g} s budget), and the course "
        f"grades on {course.device}. Pass --device to choose, or --profile {course.name} to get an error instead."
    )


def choose(profile_arg: str | None, model_dir: str | None, device_arg: str | None) -> Choice:
    """The profile and device to grade with, and the banner to show when they are a fallback."""
    if configured(profile_arg, model_dir):
        return Choice(named_profile(profile_arg, model_dir), device_arg)
    course = profiles.load(COURSE_PROFILE)
    if not _model_available(course):
        return Choice(profiles.load(SELF_CHECK_PROFILE), device_arg, tiny_banner(course))
    if device_arg is None:
        kind = devices.parse(course.device).kind
        if kind != "cpu" and not devices.present(kind):
            return Choice(course, "cpu", cpu_banner(course))
    return Choice(course, device_arg)
