"""A grading killed outright leaves its tmpfs mounted (its pages stay in memory); the next private
area unmounts and removes it, and never one whose grading still runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from grader.run import private_area
from tests.helpers import as_from_a_terminal

HOLD = """
import sys, time
from grader.run.private_area import private_area
with private_area("grade-", 1024 * 1024) as folder:
    (folder / "work.txt").write_text("x")
    print(folder, flush=True)
    time.sleep(600)
"""


def holder(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    child = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, text=True, env=env, preexec_fn=as_from_a_terminal)
    return child, private_area.Path(child.stdout.readline().strip())


@pytest.mark.skipif(os.geteuid() != 0, reason="only root mounts a private tmpfs (CI runs as root)")
def test_the_tmpfs_of_a_killed_grading_is_swept_and_a_running_one_is_kept(tmp_path):
    killed, orphan = holder(tmp_path)
    running, alive = holder(tmp_path)
    try:
        assert os.path.ismount(orphan) and os.path.ismount(alive)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert os.path.ismount(orphan)  # nothing could unmount it
        assert private_area.sweep_orphans() == [orphan]
        assert not orphan.exists() and not orphan.with_name(orphan.name + ".owner").exists()
        assert os.path.ismount(alive) and (alive / "work.txt").read_text() == "x"
    finally:
        running.send_signal(signal.SIGINT)  # a grading that ends normally unmounts its own
        running.wait(timeout=30)
    assert not alive.exists() and not alive.with_name(alive.name + ".owner").exists()
    assert private_area.sweep_orphans() == []
