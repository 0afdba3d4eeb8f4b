"""Tie the saved adapter to a model observed in this run: the snapshot (save_pretrained first)
whose trainable tensors are bit-identical to the adapter's, and whether training steps and IA3
changes were observed before it. Two channels, the saved files and the probe, must agree."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from grader.evidence.adapter import Adapter
from grader.evidence.probe_record import ModelRecord, ProbeRecord, Snapshot


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


def untrained_reason(record: ProbeRecord | None, adapter: Adapter) -> str | None:
    """Why the saved adapter is not the product of training observed in this run, or None."""
    if record is not None and record.inconsistencies:
        return f"the probe's record is inconsistent ({record.inconsistencies[0]}), so the saved adapter cannot be tied to training"
    if record is None or not record.models:
        return "the grader's probe observed no PEFT model in this run, so the saved adapter cannot be tied to any training in it"
    match = find_match(record, adapter)
    if match is None:
        return (
            "the saved adapter equals the trainable tensors of no model observed in this run: it was not saved from a model this run built"
        )
    label = match.model.label()
    if match.snapshot.reason == "created" or match.snapshot.train_forwards == 0:
        return f"the saved adapter is {label} before any training step: no training-mode forward pass was observed before it was saved"
    if not ia3_changed(match.model, match.snapshot):
        passes = match.snapshot.train_forwards
        return f"{label} ran {passes} training passes, but its IA3 vectors never changed between creation and the saved state"
    return None
