"""Output files written so that no reader (an LMS import, a running summary, a resumed batch)
sees one half-written: under a temporary name in the same folder, then renamed (atomic there)."""

from __future__ import annotations

import os
from pathlib import Path


def atomically(path: Path, write) -> Path:
    """`write(temporary path)`, then rename it to `path`."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def utf8(path: Path, text: str) -> Path:
    """UTF-8; a lone surrogate (from a file name or output that was not valid UTF-8) is written as its escape."""
    path.write_text(text, encoding="utf-8", errors="backslashreplace")
    return path


def write_text(path: Path, text: str) -> Path:
    """`text` as UTF-8 (see utf8), atomically."""
    return atomically(path, lambda temporary: utf8(temporary, text))
