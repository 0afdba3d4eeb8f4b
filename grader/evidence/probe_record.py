"""Read what the probe (grader/run/inject/grader_hooks/probe.py) recorded in the student's process.

The record is evidence written by code that shares the process with the student's code, so
everything here is reported as "observed in the run", never as proven. A torn last line (the
process was killed mid-write) is skipped and noted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.evidence.tensors import size

ADAPTER_MARKERS = ("ia3_", "lora_", "modules_to_save", "prompt_encoder", "lokr_", "loha_")


@dataclass(frozen=True)
class Param:
    shape: tuple[int, ...]
    dtype: str
    trainable: bool
    fingerprint: str

    @property
    def size(self) -> int:
        return size(self.shape)


@dataclass
class Snapshot:
    reason: str  # created | periodic | save | merge | exit | terminated
    t: float  # seconds since the student's interpreter started
    train_forwards: int
    params: dict[str, Param]
    directory: str | None = None  # for reason == "save"


@dataclass
class ModelRecord:
    pid: int
    number: int
    cls: str
    config: dict
    snapshots: list[Snapshot] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    training_rows: list[str] = field(default_factory=list)  # fingerprints of the rows of training-mode passes

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

    def main_model(self) -> ModelRecord | None:
        """The model that trained most; ties go to one that was saved, then to the first built."""
        if not self.models:
            return None
        return max(self.models, key=lambda m: (m.train_forwards, bool(m.saves), -self.models.index(m)))


def is_adapter_tensor(name: str) -> bool:
    return any(marker in name for marker in ADAPTER_MARKERS)


def _params(rows: list) -> dict[str, Param]:
    return {name: Param(tuple(shape), dtype, bool(trainable), fingerprint) for name, shape, dtype, trainable, fingerprint in rows}


def load(folder: Path) -> ProbeRecord | None:
    """All probe files in `folder` (one per connection, named by the peer's pid); None when the
    probe sent nothing. What cannot have come from the probe is left out and named in
    `inconsistencies`: a line claiming another pid, a gap or repeat in the sequence, a snapshot of
    a model never built, time or training steps running backwards."""
    files = sorted(Path(folder).glob("probe-*.jsonl")) if folder and Path(folder).is_dir() else []
    if not files:
        return None
    record = ProbeRecord([f.name for f in files])
    models: dict[tuple[int, int], ModelRecord] = {}
    for path in files:
        _read_file(path, record, models)
    record.models = list(models.values())
    for model in record.models:
        steps = [s.train_forwards for s in model.snapshots]
        if steps != sorted(steps):
            record.inconsistencies.append(f"{model.label()}: the count of training steps goes backwards ({steps})")
    return record


def _read_file(path: Path, record: ProbeRecord, models: dict[tuple[int, int], ModelRecord]) -> None:
    named = path.stem.removeprefix("probe-").split("-")[0]  # probe-PID-N: N-th connection, from PID
    sender = int(named) if named.isdigit() else None
    lines = path.read_text(errors="replace").splitlines()
    expected_seq, last_t = 1, float("-inf")
    for number, line in enumerate(lines, 1):
        where = f"{path.name} line {number}"
        try:
            event = json.loads(line)
            kind, pid, seq, t = event["event"], event["pid"], event["seq"], float(event["t"])
        except json.JSONDecodeError:
            if number == len(lines):
                record.problems.append(f"{where} is incomplete (the process was killed while writing it)")
            else:
                record.inconsistencies.append(f"{where} is not a complete record")
            continue
        except (KeyError, TypeError, ValueError):
            record.inconsistencies.append(f"{where} is not a record the probe writes")
            continue
        if pid != sender:
            record.inconsistencies.append(f"{where} claims pid {pid}, but was sent by pid {sender}: left out")
            continue
        if seq != expected_seq:
            record.inconsistencies.append(f"{where} has sequence number {seq} where {expected_seq} was due: lines are missing or repeated")
        if t < last_t:
            record.inconsistencies.append(f"{where} goes back in time ({t} s after {last_t} s)")
        expected_seq, last_t = seq + 1, t
        try:
            _apply(event, kind, (pid, event.get("model")), record, models, where)
        except (KeyError, TypeError, ValueError) as exc:
            record.inconsistencies.append(f"{where}: malformed {kind} record ({type(exc).__name__}: {exc})")


def _apply(event: dict, kind: str, key: tuple, record: ProbeRecord, models: dict, where: str) -> None:
    if kind == "start":
        record.started = True
    elif kind == "attached":
        record.attached.append(event.get("package", "?"))
    elif kind == "created":
        if key in models:
            record.inconsistencies.append(f"{where} builds model {key[1]} of pid {key[0]} a second time")
            return
        model = ModelRecord(key[0], event["model"], event.get("class", "?"), event.get("config", {}))
        model.snapshots.append(Snapshot("created", event["t"], 0, _params(event["parameters"])))
        models[key] = model
    elif kind in ("snapshot", "loss", "rows") and key not in models:
        record.inconsistencies.append(f"{where} is a {kind} of model {key[1]}, which was never built")
    elif kind == "snapshot":
        snapshot = Snapshot(
            event["reason"], event["t"], event.get("train_forwards", 0), _params(event["parameters"]), event.get("directory")
        )
        models[key].snapshots.append(snapshot)
    elif kind == "loss":
        models[key].losses.append(float(event["loss"]))
    elif kind == "rows":
        models[key].training_rows.extend(str(row) for row in event["rows"])
    elif kind == "end":
        record.end = event.get("reason")
    elif kind == "probe_error":
        record.problems.append(f"probe error in {event.get('where')}: {event.get('error')}")
