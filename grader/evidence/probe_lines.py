"""One line of the probe's record, checked: the JSON is parsed with its size bounded, and every
field the record uses is checked for its type and size before use. A line that fails is
Malformed, with the reason, never an uncaught exception (the line is the run's word)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from grader.evidence.tensors import size

MAX_LINE_BYTES = 1024**2  # as the channel stores them
MAX_PARAMETERS = 20_000  # per snapshot; RoBERTa-large with IA3 has ~470
MAX_PARAMETER_ROWS = 1_000_000  # over the whole record: an hour of RoBERTa-large snapshots every 5 s is ~350,000
MAX_NAME = 300  # characters of a parameter, class or package name
MAX_TEXT = 500  # characters of any other text (an error, a directory)
MAX_DIMS, MAX_DIM = 8, 1 << 40
CONFIG_ADAPTERS, CONFIG_KEYS, CONFIG_LIST = 4, 100, 64  # what of a PEFT config is kept
MAX_FILES = 16  # weights files named per load or save, as the probe sends them
MAX_PATH = 4096
EVENTS = ("start", "attached", "created", "snapshot", "loss", "end", "probe_error", "save", "merge", "saved", "rows")
REASONS = ("created", "periodic", "save", "merge", "exit", "terminated", "load", "train_start")
BASELINES = ("created", "load", "train_start")  # snapshots after which the probe measures change afresh


@dataclass(frozen=True)
class Param:
    shape: tuple[int, ...]
    dtype: str
    trainable: bool
    fingerprint: str

    @property
    def size(self) -> int:
        return size(self.shape)


@dataclass(frozen=True)
class Moved:
    """How far one tensor moved from the probe's last baseline: the largest |change| (None when
    its shape changed) and how many elements differ."""

    largest: float | None
    elements: int


@dataclass(frozen=True)
class WeightsFile:
    """A weights file a load read or a save wrote: its path and sha256 as the probe read it
    (None when it was too large to hash) and its size."""

    path: str
    sha256: str | None
    size: int


class Malformed(ValueError):
    """A line, or a field of one, that the probe does not write."""


def whole(value, what: str, low: int = 0, high: int = 1 << 62) -> int:
    if type(value) is not int or not low <= value <= high:
        raise Malformed(f"{what} is not an integer from {low} to {high}")
    return value


def number(value, what: str) -> float:
    if type(value) not in (int, float):
        raise Malformed(f"{what} is not a number")
    return float(value)


def text(value, what: str, limit: int = MAX_NAME) -> str:
    if type(value) is not str or len(value) > limit:
        raise Malformed(f"{what} is not a string of at most {limit} characters")
    return value


def clip(value, limit: int = MAX_TEXT) -> str:
    shown = value if isinstance(value, str) else f"<{type(value).__name__}>"  # never repr: it recurses
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def parse(line: bytes) -> dict:
    if len(line) > MAX_LINE_BYTES:
        raise Malformed(f"over {MAX_LINE_BYTES:,} bytes")
    event = json.loads(line)  # deep nesting raises RecursionError in the C decoder, caught by the caller
    if not isinstance(event, dict):
        raise Malformed("not a JSON object")
    return event


def _shape(value, what: str) -> tuple[int, ...]:
    if type(value) is not list or len(value) > MAX_DIMS:
        raise Malformed(f"{what} is not a list of at most {MAX_DIMS} dimensions")
    return tuple(whole(d, f"{what} dimension", 0, MAX_DIM) for d in value)


class Params:
    """Builds parameter tables; identical rows share one Param (most tensors never change), and
    the rows of the whole record are counted against MAX_PARAMETER_ROWS."""

    def __init__(self):
        self.known: dict[tuple, Param] = {}
        self.rows = 0

    def table(self, rows) -> dict[str, Param]:
        self.counted(rows, "parameters")
        table = {}
        for row in rows:
            if type(row) is not list or len(row) != 5:
                raise Malformed("a parameter is not [name, shape, dtype, trainable, fingerprint]")
            name, shape, dtype, trainable, fingerprint = row
            if type(trainable) is not bool:
                raise Malformed("a parameter's trainable flag is not true or false")
            key = (text(name, "a parameter name"), _shape(shape, "a shape"), text(dtype, "a dtype", 32), trainable)
            key += (text(fingerprint, "a fingerprint", 64),)
            table[sys.intern(name)] = self.known.setdefault(key, Param(*key[1:]))
        return table

    def counted(self, rows, field: str) -> None:
        """A field of rows: a list of at most MAX_PARAMETERS, counted against the record's total."""
        if type(rows) is not list or len(rows) > MAX_PARAMETERS:
            raise Malformed(f"{field} is not a list of at most {MAX_PARAMETERS:,} rows")
        self.count(len(rows))

    def count(self, rows: int) -> None:
        """Parameter and moved rows together are held to MAX_PARAMETER_ROWS over the record."""
        self.rows += rows
        if self.rows > MAX_PARAMETER_ROWS:
            raise Malformed(f"the record holds more than {MAX_PARAMETER_ROWS:,} parameter rows")


def moved(value, params: Params) -> dict[str, Moved] | None:
    """The probe's "moved" field: None (no baseline kept) or [[name, largest, elements], ...]."""
    if value is None:
        return None
    params.counted(value, "moved")
    found = {}
    for row in value:
        if type(row) is not list or len(row) != 3:
            raise Malformed("a moved row is not [name, largest change, elements changed]")
        name, largest, elements = row
        largest = None if largest is None else number(largest, "a largest change")
        if largest is not None and largest < 0:
            raise Malformed("a largest change is negative")
        found[sys.intern(text(name, "a parameter name"))] = Moved(largest, whole(elements, "elements changed", 0, 1 << 62))
    return found


def files(value) -> list[WeightsFile]:
    """[[path, sha256 or null, size], ...] as a load or a save names them."""
    if type(value) is not list or len(value) > MAX_FILES:
        raise Malformed(f"files is not a list of at most {MAX_FILES} files")
    found = []
    for row in value:
        if type(row) is not list or len(row) != 3:
            raise Malformed("a file is not [path, sha256, size]")
        path, digest, length = row
        if digest is not None and (type(digest) is not str or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest)):
            raise Malformed("a file's sha256 is not 64 hexadecimal digits")
        found.append(WeightsFile(text(path, "a file path", MAX_PATH), digest, whole(length, "a file size")))
    return found


def config(value) -> dict:
    """What of a PEFT config the record keeps: per adapter (at most CONFIG_ADAPTERS), its
    scalar fields and short lists of scalars, every string clipped; nested values are dropped."""
    if type(value) is not dict:
        raise Malformed("config is not an object")
    kept = {}
    for adapter, fields in list(value.items())[:CONFIG_ADAPTERS]:
        if type(fields) is not dict:
            raise Malformed("an adapter's config is not an object")
        entry = {}
        for key, item in list(fields.items())[:CONFIG_KEYS]:
            if type(item) is list and len(item) <= CONFIG_LIST and all(type(x) in (str, int, float, bool) for x in item):
                entry[clip(key, 64)] = [clip(x, 128) if type(x) is str else x for x in item]
            elif item is None or type(item) in (int, float, bool):
                entry[clip(key, 64)] = item
            elif type(item) is str:
                entry[clip(key, 64)] = clip(item, 256)
        kept[clip(adapter, 64)] = entry
    return kept
