"""The private folder of one grading: the fetched submission, the run's copy, home, /tmp and
output. Where the grader may mount (it runs as root) the folder is a tmpfs of the profile's disk
size, so all the run writes is bounded; elsewhere only the size of each file is (RLIMIT_FSIZE)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from grader.intake import untrusted


@contextlib.contextmanager
def private_area(prefix: str, disk_bytes: int | None) -> Iterator[Path]:
    """A fresh private folder, size-limited when possible; removed (and unmounted) afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    mounted = False
    if disk_bytes and os.geteuid() == 0 and shutil.which("mount"):
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={int(disk_bytes)},mode=0700,nosuid,nodev", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        mounted = done.returncode == 0
    try:
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", "--lazy", str(folder)], capture_output=True)
        untrusted.remove_tree(folder)  # the run may have nested folders thousands deep


def describe(folder: Path) -> str:
    """What bounds the disk space written in `folder`, for the run's record."""
    if os.path.ismount(folder):
        size = os.statvfs(folder)
        return f"private area on a tmpfs of {size.f_blocks * size.f_frsize:,} bytes"
    return "not bounded in total (the grader cannot mount a size-limited tmpfs here); each file is bounded by the file size limit"
