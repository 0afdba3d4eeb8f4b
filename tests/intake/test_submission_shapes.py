"""Submissions whose shape the file system allows but a grader must not take: a FIFO, a socket
or a device file in a folder, folders nested 3,000 deep, a zip entry named with 4,200
characters. Each is graded through the real `grade` command in a child process (a hang fails
the test at its timeout instead of stopping the suite) and refused with the reason: a failed
run, exit 1, never a grader error."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.checks.judgement import FAILED
from grader.intake import untrusted, workspace
from tests import helpers
from tests.helpers import MRPC_DIR

TRAIN = "print('hello')\n"


def grade_child(source: Path, out: Path, timeout: float = 300) -> helpers.Graded:
    done = subprocess.run(
        [sys.executable, "-m", "grader.cli", str(source), "--profile", "tiny", "--out", str(out), "--data", str(MRPC_DIR)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode != 3, done.stderr[-3000:]
    return helpers.Graded(done.returncode, out)


def nest(folder: Path, depth: int) -> None:
    """`depth` folders one inside the other, each made from the one above (no path that long exists)."""
    fd = os.open(folder, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)


def with_fifo(folder: Path) -> str:
    os.mkfifo(folder / "data.pipe")
    return "data.pipe, a FIFO (named pipe)"


def with_socket(folder: Path) -> str:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "server.sock"))
    server.close()
    return "server.sock, a socket"


def with_device(folder: Path) -> str:
    if os.geteuid() != 0:
        pytest.skip("making a device file needs root")
    os.mknod(folder / "zero", stat.S_IFCHR | 0o666, os.makedev(1, 5))  # /dev/zero: a copy by path never ends
    return "zero, a device file"


def with_deep_folders(folder: Path) -> str:
    nest(folder, 3000)
    return "folders nested more than 32 deep"


@pytest.fixture
def hw(tmp_path):
    """The homework folder, removed without recursion afterwards: pytest's own clean-up of old
    temporary folders recurses, and fails on a tree 3,000 deep."""
    folder = tmp_path / "hw"
    folder.mkdir()
    (folder / "train.py").write_text(TRAIN)
    yield folder
    untrusted.remove_tree(folder)


@pytest.mark.parametrize("shape", [with_fifo, with_socket, with_device, with_deep_folders], ids=lambda f: f.__name__)
def test_a_folder_of_a_shape_no_grader_should_copy_is_refused(tmp_path, hw, shape):
    why = shape(hw)
    done = grade_child(hw, tmp_path / "out")
    assert done.code == 1 and done.statuses["run"] == FAILED
    assert done.messages["run"].startswith("submission refused:") and why in done.messages["run"]


@pytest.mark.parametrize("shape", [with_fifo, with_device, with_deep_folders], ids=lambda f: f.__name__)
def test_the_workspace_copy_refuses_them_too(tmp_path, hw, shape):
    """A zip or a clone reaches the copy without the folder check: the copy walks by itself."""
    why = shape(hw)
    ws = workspace.prepare(hw, tmp_path / "work")
    assert ws.entry is None and ws.entry_problem.startswith("submission refused:") and why in ws.entry_problem


def test_links_inside_the_submission_are_copied_as_links(tmp_path):
    folder = tmp_path / "hw"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "train.py").write_text(TRAIN)
    (folder / "train.py").symlink_to("src/train.py")
    (folder / "run.sh").write_text("#!/bin/sh\n")
    (folder / "run.sh").chmod(0o755)
    ws = workspace.prepare(folder, tmp_path / "work")
    assert ws.entry == ws.root / "train.py" and os.readlink(ws.root / "train.py") == "src/train.py"
    assert os.stat(ws.root / "run.sh").st_mode & 0o100


def test_a_zip_entry_with_a_name_too_long_is_refused(tmp_path):
    archive = tmp_path / "hw.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("train.py", TRAIN)
        zf.writestr("x" * 4200 + ".txt", "long")
    done = grade_child(archive, tmp_path / "out")
    assert done.code == 1 and done.statuses["run"] == FAILED
    assert done.messages["run"].startswith("submission refused: hw.zip holds an entry named with 4,204 characters")


def test_a_zip_with_a_file_and_a_folder_of_one_name_is_refused(tmp_path):
    archive = tmp_path / "hw.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("train.py", TRAIN)
        zf.writestr("data", "a file")
        zf.writestr("data/inner.txt", "and a folder")
    done = grade_child(archive, tmp_path / "out")
    assert done.code == 1 and done.messages["run"].startswith("submission refused: hw.zip cannot be unpacked")


def test_walks_are_bounded_and_say_where_they_stopped(tmp_path):
    nest(tmp_path, 40)
    for n in range(30):
        (tmp_path / f"f{n}").write_text("")
    deep = untrusted.walk(tmp_path)
    assert "folders nested more than 32 deep" in deep.stopped and max(len(e.path.parts) for e in deep.entries) == 33
    wide = untrusted.walk(tmp_path, max_entries=10)
    assert len(wide.entries) == 10 and "more than 10 entries" in wide.stopped
    untrusted.remove_tree(tmp_path / "d")
    assert not (tmp_path / "d").exists()
