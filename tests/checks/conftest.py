"""Fixtures of the check tests."""

import pytest

from grader.course import calibration


@pytest.fixture
def large_calibration():
    """The course profile's calibration: what the checks judge against on roberta-large."""
    return calibration.load_for("roberta-large")
