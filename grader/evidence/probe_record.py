"""Read what the probe (grader/run/inject/grader_hooks/probe.py) recorded in the student's process.

The record is evidence written by code that shares the process with the student's code, so
everything here is reported as "observed in the run", never as proven. A torn last line (the
process was killed mid-write) is skipped and noted.

Every line is the run's word: each field's type and size is checked before use, JSON nested too
deeply for the decoder is a malformed line, and what the record keeps (models, parameters, losses, messages) is capped, so a run
cannot make the grader's memory or its reports grow with what it sends. A line that is not what
the probe writes, or a channel that stopped storing, makes the record inconsistent, with reasons.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from grader.evidence.probe_lines import (
    BASELINES,
    EVENTS,
    MAX_LINE_BYTES,
    REASONS,
    Malformed,
    Moved,
    Param,
    Params,
    WeightsFile,
    clip,
    config,
    files,
    moved,
    number,
    parse,
    text,
    whole,
)
from grader.run.probe_channel import CHANNEL_FILE, UNKNOWN

ADAPTER_MARKERS = ("ia3_", "lora_", "modules_to_save", "prompt_encoder", "lokr_", "loha_")
MAX_MESSAGES = 20  # problems and inconsistencies listed; the rest are counted
MAX_MODELS = 64
MAX_LOSSES = 5_000  # points kept per model (the curve is thinned beyond)
MAX_TRAINING_ROWS = 100_000  # row fingerprints kept per model (the probe sends at most 50,000 per process)
ROW_CHARS = 16


@dataclass
class Snapshot:
    reason: str  # created | periodic | save | merge | exit | terminated | load | train_start
    t: float  # seconds since the student's interpreter started
    train_forwards: int
    params: dict[str, Param]
    directory: str | None = None  # for reason == "save"
    moved: dict[str, Moved] | None = None  # from the last baseline (None: the probe kept none); created: {}
    via: str | None = None  # for reason == "load": the function that loaded
    files: list[WeightsFile] = field(default_factory=list)  # for reason == "load": what it read


@dataclass(frozen=True)
class Written:
    """Weights files a save_pretrained of this run wrote, as the probe hashed them after the save."""

    pid: int
    unix_time: float | None  # when, on the clock every process of the run shares (None: unknown)
    files: list[WeightsFile]


@dataclass
class ModelRecord:
    pid: int
    number: int
    cls: str
    config: dict
    snapshots: list[Snapshot] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # one per `loss_stride` training steps
    loss_stride: int = 1
    training_rows: list[str] = field(default_factory=list)  # fingerprints of the rows of training-mode passes
    _loss_count: int = 0

    def add_loss(self, loss: float) -> None:
        """Keep at most MAX_LOSSES points: past that, every other one is dropped and the stride doubles."""
        if self._loss_count % self.loss_stride == 0:
            self.losses.append(loss)
            if len(self.losses) > MAX_LOSSES:
                self.losses, self.loss_stride = self.losses[::2], self.loss_stride * 2
        self._loss_count += 1

    @property
    def created(self) -> Snapshot:
        return self.snapshots[0]

    @property
    def before_merge(self) -> list[Snapshot]:
        """Snapshots until the adapter was merged: merge_and_unload() folds the vectors into the
        base weights (and renames them) on purpose, so later snapshots say nothing of training."""
        for index, snapshot in enumerate(self.snapshots):
            if snapshot.reason == "merge":
                return self.snapshots[: index + 1]
            if index and not any(is_adapter_tensor(n) for n in snapshot.params):
                return self.snapshots[:index]
        return self.snapshots

    @property
    def merged(self) -> bool:
        return len(self.before_merge) < len(self.snapshots)

    @property
    def last(self) -> Snapshot:
        return self.snapshots[-1]

    @property
    def train_forwards(self) -> int:
        return max(s.train_forwards for s in self.snapshots)

    @property
    def saves(self) -> list[Snapshot]:
        return [s for s in self.snapshots if s.reason == "save"]

    def baseline_of(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot `snapshot.moved` is measured from: the last creation, load or start of
        training before it (the probe takes a new copy of the adapter's tensors at each)."""
        index = next(i for i, s in enumerate(self.snapshots) if s is snapshot)
        return next(s for s in reversed(self.snapshots[:index]) if s.reason in BASELINES) if index else snapshot

    def loads(self, before: Snapshot | None = None) -> list[Snapshot]:
        """Loads of weights into this model that changed its adapter tensors (before `before`)."""
        end = next((i for i, s in enumerate(self.snapshots) if s is before), len(self.snapshots))
        return [s for s in self.snapshots[:end] if s.reason == "load" and s.moved]

    def changed_since_creation(self, snapshot: Snapshot | None = None) -> list[str]:
        """Tensors whose bytes differ between the model's creation and `snapshot` (default: its
        last snapshot before any merge), by name."""
        created, later = self.created.params, (snapshot or self.before_merge[-1]).params
        return sorted(n for n, p in later.items() if n in created and p.fingerprint != created[n].fingerprint)

    def trainable_ever(self) -> dict[str, tuple[int, ...]]:
        """Every tensor that was trainable in any snapshot: unfreezing then re-freezing still shows."""
        found: dict[str, tuple[int, ...]] = {}
        for snapshot in self.before_merge:
            found.update({n: p.shape for n, p in snapshot.params.items() if p.trainable})
        return found

    def label(self) -> str:
        return f"{self.cls.rsplit('.', 1)[-1]} #{self.number} (pid {self.pid})"


@dataclass
class ProbeRecord:
    files: list[str]
    started: bool = False
    attached: list[str] = field(default_factory=list)  # packages patched, e.g. peft, mindnlp.peft
    models: list[ModelRecord] = field(default_factory=list)
    end: str | None = None  # exit | terminated | None: killed without a last word
    problems: list[str] = field(default_factory=list)  # what a killed run or the probe itself leaves: noted
    inconsistencies: list[str] = field(default_factory=list)  # what the probe cannot have written: distrusted
    more_problems: int = 0  # noted beyond the MAX_MESSAGES kept
    more_inconsistencies: int = 0
    starts: dict[int, float] = field(default_factory=dict)  # pid -> the Unix time its probe started
    written: list[Written] = field(default_factory=list)  # weights files the run's saves wrote

    def unix_time(self, pid: int, t: float) -> float | None:
        """A record's time on the clock all processes share, from its process's start."""
        return self.starts[pid] + t if pid in self.starts else None

    def note(self, problem: str) -> None:
        if len(self.problems) < MAX_MESSAGES:
            self.problems.append(problem)
        else:
            self.more_problems += 1

    def distrust(self, inconsistency: str) -> None:
        if len(self.inconsistencies) < MAX_MESSAGES:
            self.inconsistencies.append(inconsistency)
        else:
            self.more_inconsistencies += 1

    @property
    def inconsistent(self) -> int:
        """How many inconsistencies were found, listed or not."""
        return len(self.inconsistencies) + self.more_inconsistencies

    def main_model(self) -> ModelRecord | None:
        """The model that trained most; ties go to one that was saved, then to the first built."""
        if not self.models:
            return None
        return max(self.models, key=lambda m: (m.train_forwards, bool(m.saves), -self.models.index(m)))


def is_adapter_tensor(name: str) -> bool:
    return any(marker in name for marker in ADAPTER_MARKERS)


def load(folder: Path) -> ProbeRecord | None:
    """All probe files in `folder` (one per connection, named by the peer's pid); None when the
    probe sent nothing. What cannot have come from the probe is left out and named in
    `inconsistencies`: a malformed line, a line claiming another pid or sent by a process that
    exited before the grader knew its pid, a gap or repeat in the sequence, a snapshot of a model
    never built, time or training steps running backwards, more than the channel stores."""
    files = sorted(Path(folder).glob("probe-*.jsonl")) if folder and Path(folder).is_dir() else []
    if not files:
        return None
    record = ProbeRecord([f.name for f in files[:MAX_MESSAGES]])
    for why in _channel_cut(Path(folder)):
        record.distrust(f"the run sent {why}: the grader stopped storing its probe record there")
    models: dict[tuple[int, int], ModelRecord] = {}
    params = Params()
    for path in files:
        _read_file(path, record, models, params)
    record.models = list(models.values())
    for model in record.models:
        steps = [s.train_forwards for s in model.snapshots]
        if steps != sorted(steps):
            record.distrust(f"{model.label()}: the count of training steps goes backwards ({clip(str(steps), 200)})")
    return record


def _channel_cut(folder: Path) -> list[str]:
    """Why the channel stopped storing, as it wrote at the end of the run (the grader's file)."""
    try:
        seen = json.loads((folder / CHANNEL_FILE).readtext())
        return [str(why) for why in seen.get("truncated", [])]
    except (OSError, ValueError, AttributeError):
        return []


def _read_file(path: Path, record: ProbeRecord, models: dict[tuple[int, int], ModelRecord], params: Params) -> None:
    named = path.stem.removeprefix("probe-").split("-")[0]  # probe-PID-N: N-th connection, from PID
    sender = int(named) if named.isdigit() else None
    expected_seq, last_t = 1, float("-inf")
    with open(path, "rb") as handle:
        lines = iter(lambda: handle.readline(MAX_LINE_BYTES + 2), b"")
        count, line = 0, next(lines, b"")
        while line:
            following = next(lines, b"")
            count += 1
            where = f"{path.name} line {count}"
            if sender is None and named == UNKNOWN:
                record.distrust(f"{where} was sent by a process that exited before the grader could tell its pid: left out")
                return
            try:
                event = parse(line)
                kind = event.get("event")
                if kind not in EVENTS:
                    raise Malformed(f"event {clip(kind, 40)} is not one the probe writes")
                pid = whole(event.get("pid"), "pid", 0, 1 << 31)
                seq = whole(event.get("seq"), "seq", 1)
                t = number(event.get("t"), "t")
            except (Malformed, ValueError, RecursionError) as exc:
                if not following and not line.endswith(b"\n"):
                    record.note(f"{where} is incomplete (the process was killed while writing it)")
                else:
                    record.distrust(f"{where} is not a record the probe writes ({_why(exc)})")
                line = following
                continue
            line = following
            if pid != sender:
                record.distrust(f"{where} claims pid {pid}, but was sent by pid {named}: left out")
                continue
            if seq != expected_seq:
                record.distrust(f"{where} has sequence number {seq} where {expected_seq} was due: lines are missing or repeated")
            if t < last_t:
                record.distrust(f"{where} goes back in time ({t} s after {last_t} s)")
            expected_seq, last_t = seq + 1, t
            try:
                _apply(event, kind, t, pid, record, models, params, where)
            except (Malformed, KeyError, TypeError, ValueError) as exc:
                record.distrust(f"{where}: malformed {kind} record ({_why(exc)})")


def _why(exc: Exception) -> str:
    if isinstance(exc, Malformed):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    return clip(f"{type(exc).__name__}: {exc}", 200)


def _apply(event: dict, kind: str, t: float, pid: int, record: ProbeRecord, models: dict, params: Params, where: str) -> None:
    if kind == "start":
        record.started = True
        if pid not in record.starts:
            record.starts[pid] = number(event.get("unix_time", 0.0), "unix_time")
    elif kind == "saved":
        if len(record.written) >= MAX_MODELS * MAX_MESSAGES:
            raise Malformed(f"more than {MAX_MODELS * MAX_MESSAGES} saves")
        record.written.append(Written(pid, record.unix_time(pid, t), files(event.get("files"))))
    elif kind == "attached":
        if len(record.attached) < MAX_MESSAGES:
            record.attached.append(text(event.get("package", "?"), "package"))
    elif kind == "probe_error":
        record.note(f"probe error in {clip(event.get('where'), 100)}: {clip(event.get('error'))}")
    elif kind == "end":
        record.end = text(event.get("reason"), "reason", 32)
    elif kind in ("save", "merge"):
        return  # on a model the probe did not see built: nothing to keep
    else:
        key = (pid, whole(event.get("model"), "model", 1, 1 << 31))
        if kind == "created":
            if key in models:
                record.distrust(f"{where} builds model {key[1]} of pid {pid} a second time")
                return
            if len(models) >= MAX_MODELS:
                raise Malformed(f"more than {MAX_MODELS} models built")
            model = ModelRecord(pid, key[1], text(event.get("class", "?"), "class"), config(event.get("config", {})))
            model.snapshots.append(Snapshot("created", t, 0, params.table(event["parameters"]), moved={}))
            models[key] = model
        elif key not in models:
            record.distrust(f"{where} is a {kind} of model {key[1]}, which was never built")
        elif kind == "snapshot":
            reason = event.get("reason")
            if reason not in REASONS:
                raise Malformed(f"reason {clip(reason, 40)} is not one the probe writes")
            directory, via = event.get("directory"), event.get("via")
            snapshot = Snapshot(
                reason,
                t,
                whole(event.get("train_forwards", 0), "train_forwards"),
                params.table(event["parameters"]),
                None if directory is None else text(directory, "directory", 4096),
                moved(event.get("moved"), params),
                None if via is None else text(via, "via", 64),
                files(event.get("files", [])),
            )
            models[key].snapshots.append(snapshot)
        elif kind == "loss":
            loss = number(event.get("loss"), "loss")
            models[key].add_loss(loss if math.isfinite(loss) else float("nan"))
        elif kind == "rows":
            rows = event.get("rows")
            if not isinstance(rows, list) or not all(isinstance(row, str) and len(row) <= ROW_CHARS for row in rows):
                raise Malformed(f"rows is not a list of strings of at most {ROW_CHARS} characters")
            kept = models[key].training_rows
            kept.extend(rows[: max(0, MAX_TRAINING_ROWS - len(kept))])
