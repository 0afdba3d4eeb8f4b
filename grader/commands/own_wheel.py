"""The grader's own wheel, for a course bundle to install as written: the grader is on no package
index, so a bundle that names `mindnlp-ia3-grader==VERSION` cannot install anywhere.

An installed grader (`pip install .`) is packed again from the files pip recorded for it, byte
for byte; an editable one (a checkout) is built from a copy of its source, so that building
writes nothing into the checkout. Either way the wheel is the grader that wrote the bundle.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

import grader
from grader.errors import CannotGrade

PACKAGE = "mindnlp-ia3-grader"
SOURCE_ITEMS = (
    "grader",
    "reference",
    "rubrics",
    "templates",
    "setup.py",
    "pyproject.toml",
    "MANIFEST.in",
    "README.md",
    "requirements.lock",
)
BUILD_SECONDS = 600


def build(dest: Path) -> Path:
    """Write the running grader's wheel into `dest`; returns its path."""
    dest.mkdir(parents=True, exist_ok=True)
    checkout = Path(grader.__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "setup.py").is_file():
        return _from_source(checkout, dest)  # an editable install, or a checkout on the path
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        dist = None
    if dist is None or Path(dist.locate_file("grader/__init__.py")).resolve() != Path(grader.__file__).resolve():
        raise CannotGrade(f"the running grader ({Path(grader.__file__).parent}) is not an installed {PACKAGE}; pass --wheel FILE")
    return _repack(dist, dest)


def _from_source(source: Path, dest: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="grader-wheel-") as scratch:
        copy = Path(scratch) / "src"
        copy.mkdir()
        for name in SOURCE_ITEMS:
            item = source / name
            if item.is_dir():
                shutil.copytree(item, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_home"))
            elif item.is_file():
                shutil.copy2(item, copy / name)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dest), str(copy)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_SECONDS)
        if done.returncode != 0:
            raise CannotGrade(f"could not build the grader's wheel from {source}: {done.stderr.strip()[-800:]}; pass --wheel FILE")
    wheels = sorted(dest.glob("mindnlp_ia3_grader-*.whl"), key=lambda p: p.stat().st_mtime)
    return wheels[-1]


def _repack(dist: metadata.Distribution, dest: Path) -> Path:
    """A wheel of the installed files: every file pip's RECORD lists under site-packages (not
    the scripts pip made, which a new install makes again), with a RECORD of its own."""
    root = Path(dist.locate_file(""))
    info_dir = next(p.parts[0] for p in map(Path, dist.files or []) if p.parts[0].endswith(".dist-info"))
    skipped = {f"{info_dir}/{name}" for name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")}
    wheel_tags = dist.read_text("WHEEL") or ""
    tag = next((line.split(":", 1)[1].strip() for line in wheel_tags.splitlines() if line.startswith("Tag:")), "py3-none-any")
    target = dest / f"{dist.metadata['Name'].replace('-', '_')}-{dist.version}-{tag}.whl"
    rows = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as wheel:
        for entry in dist.files or []:
            name = entry.as_posix()
            if name in skipped or name.startswith("..") or "__pycache__" in entry.parts:
                continue
            data = (root / entry).read_bytes()
            wheel.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append((name, f"sha256={digest}", str(len(data))))
        record = io.StringIO()
        csv.writer(record, lineterminator="\n").writerows([*rows, (f"{info_dir}/RECORD", "", "")])
        wheel.writestr(f"{info_dir}/RECORD", record.getvalue())
    return target


def check_spec(spec: str) -> None:
    """Refuse a --grader-spec that pip cannot fetch from here: a bundle naming it would fail at
    its first step on every student's push."""
    with tempfile.TemporaryDirectory(prefix="grader-spec-") as scratch:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", scratch, spec]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_SECONDS)
        except subprocess.TimeoutExpired:
            raise CannotGrade(f"--grader-spec {spec}: pip could not fetch it within {BUILD_SECONDS} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise CannotGrade(
            f"--grader-spec {spec}: pip cannot install it from here ({last}); leave --grader-spec out to bundle this grader's "
            f"own wheel, or pass --wheel FILE"
        )
