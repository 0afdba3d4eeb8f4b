"""The three lock files: requirements.lock holds what grading needs and nothing of the grader's own
tools (a student's install, a course bundle, the image), requirements-cluster.lock adds Ray and
requirements-dev.lock the test tools, each by `-r` of the one before; and this checkout's
environment, which install.sh builds from the dev lock, is exactly what the locks pin."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib

from tests.helpers import ROOT


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, str]:
    """name -> version of a lock file, following its `-r` lines; a name pinned twice is an error."""
    found: dict[str, str] = {}
    for line in (ROOT / lock).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            included = pins(line[3:].strip())
        else:
            name, version = line.split("==")
            included = {canonical(name): version}
        clash = found.keys() & included.keys()
        assert not clash, f"{lock} pins {sorted(clash)} twice"
        found.update(included)
    return found


def extras() -> set[str]:
    """Every package the optional extras name (cluster, test, dev): none of them is needed to grade."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return {canonical(re.split(r"[<>=\[ ;]", spec, maxsplit=1)[0]) for specs in declared.values() for spec in specs}


def test_the_grading_lock_holds_no_tool_of_the_grader_and_each_lock_extends_the_one_before():
    grading, cluster, dev = pins("requirements.lock"), pins("requirements-cluster.lock"), pins("requirements-dev.lock")
    tools = extras()
    assert {"ray", "pytest", "ruff", "junitparser", "dockerfile-parse"} <= tools
    assert not tools & grading.keys(), sorted(tools & grading.keys())
    for name in ("hypothesis", "iniconfig", "pluggy", "msgpack"):  # what only the tools pull in
        assert name not in grading, name
    assert grading.items() <= cluster.items() <= dev.items()
    assert "ray" in cluster and tools <= dev.keys()


def test_this_checkouts_environment_is_what_the_dev_lock_pins():
    # read by a fresh interpreter: once MindNLP is loaded, mindtorch makes importlib.metadata report a `torch`
    listing = "import importlib.metadata as m, json; print(json.dumps([[d.metadata['Name'], d.version] for d in m.distributions()]))"
    done = subprocess.run([sys.executable, "-c", listing], capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"]})
    installed = {canonical(name): version for name, version in json.loads(done.stdout)}
    locked = pins("requirements-dev.lock")
    differ = {name: (version, installed.get(name)) for name, version in locked.items() if installed.get(name) != version}
    assert not differ, f"pinned vs installed: {differ} (run ./install.sh)"
    unpinned = set(installed) - set(locked) - {"mindnlp-ia3-grader", "pip", "setuptools"}
    assert not unpinned, f"installed but in no lock: {sorted(unpinned)}"
