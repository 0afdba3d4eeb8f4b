"""What the grade rests on: the facts of one run, each with where it comes from, and the cross
check of the probe's record against the saved adapter (shown to the student)."""

from __future__ import annotations

import zlib

import numpy as np

from grader.checks.registry import INFERRED, MEASURED, OBSERVED, READ
from grader.evidence.adapter import Adapter
from grader.evidence.findings import Findings
from grader.evidence.probe_record import ProbeRecord


def adapter_matches_run(record: ProbeRecord | None, adapter: Adapter | None) -> str | None:
    """The snapshot (save_pretrained first) whose trainable tensors equal the saved adapter's bits:
    "save", "exit", ...; "" when none does; None when there is nothing to compare."""
    if record is None or not record.models or adapter is None or adapter.problem or not adapter.tensors:
        return None
    saved = {n: f"{zlib.crc32(memoryview(np.ascontiguousarray(t)).cast('B')):08x}" for n, t in adapter.tensors.items()}
    snapshots = [s for m in record.models for s in m.saves] + [s for m in record.models for s in m.snapshots if s.reason != "save"]
    for snapshot in snapshots:
        observed = {
            n.replace("modules_to_save.default.", "").replace(".default", ""): p.fingerprint
            for n, p in snapshot.params.items()
            if p.trainable
        }
        if all(observed.get(n) == f for n, f in saved.items()):
            return snapshot.reason
    return ""


def facts(f: Findings) -> list[dict]:
    """What the verdict rests on, each with where it comes from (shown to the student)."""
    ev, record, adapter = f.evidence, f.record, f.adapter
    found: list[dict] = []

    def add(text: str, basis: str) -> None:
        found.append({"fact": text, "basis": basis})

    if record is None:
        add("the grader's probe left no record of the run", OBSERVED)
    else:
        if not record.models:
            add("no PEFT model was built in the run", OBSERVED)
        for model in record.models:
            created = model.created.params
            trainable = sum(p.size for p in created.values() if p.trainable)
            configs = ", ".join(f"{c.get('peft_type', '?')} on {c.get('target_modules')}" for c in model.config.values())
            add(
                f"{model.label()} built with {configs}: {trainable:,} of {sum(p.size for p in created.values()):,} parameters trainable",
                OBSERVED,
            )
            losses = (
                f"; loss {model.losses[0]:.4f} at the first step, {model.losses[-1]:.4f} at the last"
                if model.losses
                else "; no loss returned by the model"
            )
            add(
                f"{model.label()}: {model.train_forwards} forward passes in training mode{losses if model.train_forwards else ''}", OBSERVED
            )
            for snapshot in model.saves:
                add(f"{model.label()} saved with save_pretrained after {snapshot.train_forwards} training passes", OBSERVED)
            if model.merged:
                add(
                    f"{model.label()}: the adapter layers were merged into the base model and removed (merge_and_unload) "
                    f"after {model.before_merge[-1].t:.0f} s",
                    OBSERVED,
                )
        add(
            {"exit": "the run ended normally", "terminated": "the run was stopped by the grader (SIGTERM)"}.get(
                record.end, "the run was killed before the probe's last record"
            ),
            OBSERVED,
        )
        for problem in record.problems:
            add(problem, OBSERVED)
    if adapter is not None and not adapter.problem:
        add(
            f"adapter read from {ev.adapter_found_at} ({adapter.format}): {len(adapter.tensors)} tensors, "
            f"{adapter.parameter_count():,} parameters",
            READ,
        )
        match = adapter_matches_run(record, adapter)
        when = {"save": "at its save_pretrained", "exit": "at the end of the run", "created": "when it was built, before any training"}
        if match:
            add(
                "the saved adapter is bit-identical to the trainable tensors of the model observed "
                f"{when.get(match, f'at a {match} snapshot')}",
                f"{INFERRED} from {OBSERVED} and {READ}",
            )
        elif match == "":
            add(
                "the saved adapter equals the trainable tensors of no model observed in this run (not saved from the model "
                "this run trained)",
                f"{INFERRED} from {OBSERVED} and {READ}",
            )
    if ev.evaluation:
        add(
            f"validation accuracy {ev.evaluation['accuracy']:.4f} / F1 {ev.evaluation['f1']:.4f} from the base model plus "
            "this adapter, eval mode, seeded",
            MEASURED,
        )
    return found
