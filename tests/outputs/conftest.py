"""The headless Chromium the report tests read pages with, one per test module."""

from __future__ import annotations

import pytest

from tests.outputs.browser import Chromium, executable


@pytest.fixture(scope="module")
def browser():
    assert executable(), "Debian's chromium is needed for the report tests: apt-get install -y chromium (.ci/run does this)"
    chromium = Chromium()
    yield chromium
    chromium.close()
