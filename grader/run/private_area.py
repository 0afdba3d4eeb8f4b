"""The private folder of one grading: the fetched submission, the run's copy, home, /tmp and
output. Where the grader may mount (it runs as root) the folder is a tmpfs of the profile's disk
size, so all the run writes is bounded; elsewhere only the size of each file is (RLIMIT_FSIZE).

A grading killed outright (SIGKILL, a Ray actor ended, the machine's OOM killer) cannot unmount
its tmpfs, whose pages stay in memory. Each mounted folder has an owner file beside it naming the
process that mounted it; every new private area first unmounts and removes the folders whose
owner is gone."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from grader.intake import untrusted

OWNER_SUFFIX = ".owner"


@contextlib.contextmanager
def private_area(prefix: str, disk_bytes: int | None) -> Iterator[Path]:
    """A fresh private folder, size-limited when possible; removed (and unmounted) afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    owner = folder.with_name(folder.name + OWNER_SUFFIX)
    mounted = False
    if disk_bytes and os.geteuid() == 0 and shutil.which("mount"):
        sweep_orphans()
        owner.write_text(_process_identity(os.getpid()) or "")
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
        owner.unlink(missing_ok=True)


def sweep_orphans() -> list[Path]:
    """Unmount and remove every private area whose owner process has ended; the folders swept."""
    swept = []
    for point in _tmpfs_mount_points():
        owner = point.with_name(point.name + OWNER_SUFFIX)
        try:
            recorded = owner.read_text()
        except OSError:
            continue  # not a private area (or not one this grader mounted)
        pid = recorded.split(" ", 1)[0]
        if pid.isdigit() and _process_identity(int(pid)) == recorded:
            continue  # its grading is still running
        subprocess.run(["umount", "--lazy", str(point)], capture_output=True)
        if not os.path.ismount(point):
            untrusted.remove_tree(point)
            owner.unlink(missing_ok=True)
            swept.append(point)
    return swept


def _tmpfs_mount_points() -> list[Path]:
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            if " - tmpfs " in line and len(fields) > 4:  # the kernel writes a space in a path as \040
                points.append(Path(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])))
    return points


def _process_identity(pid: int) -> str | None:
    """`pid start-time`: a pid the kernel has reused for another process does not match."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return f"{pid} {stat.rsplit(')', 1)[1].split()[19]}"


def describe(folder: Path) -> str:
    """What bounds the disk space written in `folder`, for the run's record."""
    if os.path.ismount(folder):
        size = os.statvfs(folder)
        return f"private area on a tmpfs of {size.f_blocks * size.f_frsize:,} bytes"
    return "not bounded in total (the grader cannot mount a size-limited tmpfs here); each file is bounded by the file size limit"
