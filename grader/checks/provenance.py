"""Tie the saved adapter to a model observed in this run: the snapshot (save_pretrained first)
whose trainable tensors are bit-identical to the adapter's, and what this run's training changed
in it. Two channels, the saved files and the probe, must agree.

The change is the probe's own measure (largest |change| per tensor) from its last baseline: the
start of training, a load of weights, or creation. So a run that loads an adapter trained
elsewhere and takes one small step is credited with that step, not with the distance from 1.0,
and a load of files this run did not write is named with what it read."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from grader.evidence.adapter import Adapter
from grader.evidence.probe_record import ModelRecord, ProbeRecord, Snapshot

# Above float32 rounding of values near 1.0 (machine epsilon 1.19e-7): one real optimizer step at
# a normal learning rate moves IA3 vectors by about the learning rate (Adam) or more.
MIN_TRAINED_CHANGE = 4 * float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class Match:
    model: ModelRecord
    snapshot: Snapshot


def _fingerprint(tensor: np.ndarray) -> str:
    return f"{zlib.crc32(memoryview(np.ascontiguousarray(tensor)).cast('B')):08x}"


def _saved_name(observed: str) -> str:
    """A parameter's name as save_pretrained writes it (no adapter name, no modules_to_save copy)."""
    return observed.replace("modules_to_save.default.", "").replace(".default", "")


def find_match(record: ProbeRecord | None, adapter: Adapter | None) -> Match | None:
    """The first snapshot, saves first, whose trainable tensors equal every saved tensor."""
    if record is None or adapter is None or adapter.problem or not adapter.tensors:
        return None
    saved = {n: _fingerprint(t) for n, t in adapter.tensors.items()}
    ordered = [(m, s) for m in record.models for s in m.saves] + [(m, s) for m in record.models for s in m.snapshots if s.reason != "save"]
    for model, snapshot in ordered:
        observed = {_saved_name(n): p.fingerprint for n, p in snapshot.params.items() if p.trainable}
        if all(observed.get(n) == f for n, f in saved.items()):
            return Match(model, snapshot)
    return None


def ia3_changed(model: ModelRecord, snapshot: Snapshot) -> list[str]:
    """IA3 vectors whose bytes differ between the model's creation and `snapshot`."""
    return [n for n in model.changed_since_creation(snapshot) if "ia3_l" in n]


def is_ia3(name: str) -> bool:
    return "ia3_l" in name


@dataclass(frozen=True)
class RunChange:
    """What this run's training did to the IA3 vectors of the saved model, as the probe measured it."""

    match: Match
    baseline: Snapshot  # where the change is measured from: start of training, a load, or creation
    largest: float  # the largest |change| of any IA3 vector element since the baseline
    vectors: int  # IA3 vectors that moved beyond MIN_TRAINED_CHANGE
    passes: int  # training-mode forward passes between the baseline and the save

    def since(self) -> str:
        b = self.baseline
        if b.reason == "train_start":
            return "since the start of training"
        if b.reason == "load":
            return f"since the load by {b.via} at {b.t:.0f} s"
        return "since the model was built"


@dataclass(frozen=True)
class Load:
    """A load of weights into a model that changed its adapter tensors, and whether this run wrote them."""

    model: ModelRecord
    snapshot: Snapshot
    own: bool

    def describe(self) -> str:
        files = [f"{f.path} (sha256 {(f.sha256 or 'not computed, too large')[:12]}, {f.size:,} bytes)" for f in self.snapshot.files]
        read = ", ".join(files) or "values handed in from memory (their file was not seen)"
        return f"{self.snapshot.via} at {self.snapshot.t:.0f} s into {self.model.label()}: {read}"


def loads(record: ProbeRecord) -> list[Load]:
    """Every load the probe saw that changed a model's adapter tensors."""
    return [Load(m, s, _own(record, m, s)) for m in record.models for s in m.loads()]


def _own(record: ProbeRecord, model: ModelRecord, load: Snapshot) -> bool:
    """Whether what a load put into the model was written earlier by this run: every file it read
    has the sha256 of a file a save of this run wrote before, or (a state dict from memory)
    every tensor it changed now equals that tensor at a save of this run before it."""
    when = record.unix_time(model.pid, load.t)

    def earlier(pid: int, t: float | None) -> bool:
        return t is not None and when is not None and t <= when

    if load.files:
        written = {f.sha256 for w in record.written if earlier(w.pid, w.unix_time) for f in w.files if f.sha256}
        return all(f.sha256 in written for f in load.files)
    saves = [s for m in record.models for s in m.saves if earlier(m.pid, record.unix_time(m.pid, s.t))]
    changed = {n: load.params[n].fingerprint for n in load.moved or {} if n in load.params}
    return bool(changed) and any(all(s.params.get(n) and s.params[n].fingerprint == f for n, f in changed.items()) for s in saves)


def run_change(match: Match) -> RunChange | None:
    """The IA3 change from the saved snapshot's baseline; None when the probe kept no baseline."""
    snapshot = match.snapshot
    if snapshot.moved is None:
        return None
    baseline = match.model.baseline_of(snapshot)
    ia3 = [m for n, m in snapshot.moved.items() if is_ia3(n)]
    largest = max((float("inf") if m.largest is None else m.largest for m in ia3), default=0.0)
    vectors = sum(1 for m in ia3 if m.largest is None or m.largest > MIN_TRAINED_CHANGE)
    return RunChange(match, baseline, largest, vectors, snapshot.train_forwards - baseline.train_forwards)


def untrained_reason(record: ProbeRecord | None, adapter: Adapter) -> str | None:
    """Why the saved adapter is not the product of training done in this run, or None; derived
    from what the probe recorded (no training-mode pass, vectors not trainable, saved before any
    step, saved tensors not the trained ones, a start from weights loaded from elsewhere)."""
    if record is not None and record.inconsistencies:
        return f"the probe's record is inconsistent ({record.inconsistencies[0]}), so the saved adapter cannot be tied to training"
    if record is None or not record.models:
        return "the grader's probe observed no PEFT model in this run, so the saved adapter cannot be tied to any training in it"
    with_ia3 = [m for m in record.models if any(is_ia3(n) for n in m.created.params)]
    frozen = [m for m in with_ia3 if not any(p.trainable and is_ia3(n) for s in m.before_merge for n, p in s.params.items())]
    if frozen and len(frozen) == len(with_ia3):
        return (
            f"the IA3 vectors of {frozen[0].label()} were never trainable (requires_grad False in every record): "
            "IA3Config(inference_mode=True) or requires_grad_(False) freezes them, so no optimizer can change them"
        )
    match = find_match(record, adapter)
    if match is None:
        trained = [m for m in record.models if m.train_forwards]
        after = f" ({trained[0].label()} took {trained[0].train_forwards} training passes, but what was saved is not its state)"
        after = after if trained else ""
        return (
            "the saved adapter equals the trainable tensors of no model observed in this run: it was not saved from a model this run "
            f"built{after}"
        )
    model, snapshot = match.model, match.snapshot
    label = model.label()
    if model.train_forwards == 0:
        return (
            f"no forward pass of {label} in training mode was observed: the model never trained (call model.train() and run the "
            "training loop on this model)"
        )
    if snapshot.reason == "created" or snapshot.train_forwards == 0:
        return (
            f"the saved adapter is {label} before any training step: it was saved (at {snapshot.t:.0f} s) before the first training-mode "
            f"forward pass; {label} took {model.train_forwards} training passes afterwards. Save after training"
        )
    change = run_change(match)
    if change is None:
        return f"the probe kept no copy of {label}'s adapter tensors (too large), so the change this run made cannot be measured"
    foreign = [load for load in loads(record) if load.model is model and not load.own and load.snapshot.t <= snapshot.t]
    if foreign:
        return (
            f"training started from weights this run did not write: {foreign[-1].describe()}; this run's own training changed the IA3 "
            f"vectors by at most {change.largest:.3g} {change.since()}. Train from get_peft_model's initialisation in the graded run"
        )
    started = next((s for s in model.snapshots if s.reason == "train_start"), None)
    early = [m.largest for n, m in (started.moved or {}).items() if is_ia3(n)] if started else []
    if early:
        top = max(float("inf") if v is None else v for v in early)
        return (
            f"the IA3 vectors of {label} were changed by up to {top:.3g} before its first training-mode pass, by code the probe did "
            "not see as a load (set by hand, not trained); the training here starts from them. Train from get_peft_model's initialisation"
        )
    if change.passes == 0:
        return f"the saved state of {label} was loaded by {change.baseline.via} with no training pass after the load"
    if change.vectors == 0:
        still = " (the saved vectors are still exactly 1.0)" if not ia3_changed(model, snapshot) else ""
        return (
            f"{label} ran {change.passes} training passes, but no optimizer step changed its IA3 vectors by more than float32 rounding "
            f"({MIN_TRAINED_CHANGE:.2g}) {change.since()}: at most {change.largest:.3g}{still}. Under MindNLP 0.5 `loss.backward()` "
            "computes nothing; get gradients from torch.autograd.value_and_grad (or mindspore.value_and_grad) and apply them, or use "
            "the transformers Trainer"
        )
    return None
