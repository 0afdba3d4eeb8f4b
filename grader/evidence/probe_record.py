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
    problems: list[str] = field(default_factory=list)

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
    """All probe files in `folder` (one per process); None when the probe wrote nothing."""
    files = sorted(Path(folder).glob("probe-*.jsonl")) if folder and Path(folder).is_dir() else []
    if not files:
        return None
    record = ProbeRecord([f.name for f in files])
    models: dict[tuple[int, int], ModelRecord] = {}
    for path in files:
        lines = path.read_text(errors="replace").splitlines()
        for number, line in enumerate(lines, 1):
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                record.problems.append(f"{path.name} line {number} is incomplete (the process was killed while writing it)")
                continue
            kind, pid = event.get("event"), event.get("pid")
            key = (pid, event.get("model"))
            if kind == "start":
                record.started = True
            elif kind == "attached":
                record.attached.append(event.get("package", "?"))
            elif kind == "created":
                model = ModelRecord(pid, event["model"], event.get("class", "?"), event.get("config", {}))
                model.snapshots.append(Snapshot("created", event["t"], 0, _params(event["parameters"])))
                models[key] = model
            elif kind == "snapshot" and key in models:
                models[key].snapshots.append(
                    Snapshot(
                        event["reason"], event["t"], event.get("train_forwards", 0), _params(event["parameters"]), event.get("directory")
                    )
                )
            elif kind == "loss" and key in models:
                models[key].losses.append(float(event["loss"]))
            elif kind == "end":
                record.end = event.get("reason")
            elif kind == "probe_error":
                record.problems.append(f"probe error in {event.get('where')}: {event.get('error')}")
    record.models = list(models.values())
    return record
