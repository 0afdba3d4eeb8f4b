"""What the grade rests on: the facts of one run, each with where it comes from, and the cross
check of the probe's record against the saved adapter (shown to the student)."""

from __future__ import annotations

from grader.checks.provenance import find_match, loads
from grader.checks.registry import INFERRED, INTAKE, MEASURED, OBSERVED, READ, RUN_RECORD
from grader.evidence.findings import Findings
from grader.evidence.record import Evidence


def run_ending(ev: Evidence) -> str:
    """How the run ended, from the grader's own record of its process (never from the probe)."""
    run = ev.run
    if run.timed_out:
        return f"the run was stopped by the grader at the {run.budget_seconds:g} s budget"
    where = next((d for d in ev.diagnoses if d.startswith("cell ")), None) if ev.notebook else None
    if run.exit_code == 0:
        return f"the run exited normally after {run.wall_seconds:.1f} s"
    return f"the run exited with status {run.exit_code} after {run.wall_seconds:.1f} s" + (f" ({where})" if where else "")


def facts(f: Findings) -> list[dict]:
    """What the verdict rests on, each with where it comes from (shown to the student)."""
    ev, record, adapter = f.evidence, f.record, f.adapter
    found: list[dict] = []

    def add(text: str, basis: str) -> None:
        found.append({"fact": text, "basis": basis})

    for folder in ev.not_copied:
        add(f"{folder} holds the grader's own earlier output: not copied into the run", INTAKE)
    if ev.run is not None:
        add(run_ending(ev), RUN_RECORD)
        add("the run was given MRPC's test split with every label -1, as GLUE publishes it: the grader keeps the labels", INTAKE)
    for ignored in ev.ignored_adapters:
        add(f"adapter at {ignored['path']} ignored: {ignored['reason']}", READ)

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
            for load in loads(record):
                if load.model is model:
                    whose = "written earlier by this run" if load.own else "not written by this run"
                    add(f"weights loaded by {load.describe()}: {whose}", OBSERVED)
            if model.merged:
                add(
                    f"{model.label()}: the adapter layers were merged into the base model and removed (merge_and_unload) "
                    f"after {model.before_merge[-1].t:.0f} s",
                    OBSERVED,
                )
        ending = {"exit": "at the Python process's normal exit", "terminated": "when the grader stopped it (SIGTERM)"}
        add(
            f"the probe's last record was written {ending.get(record.end, 'before its process ended (killed, or it never got to exit)')}",
            OBSERVED,
        )
        for problem in record.problems:
            add(problem, OBSERVED)
        for inconsistency in record.inconsistencies:
            add(f"not trusted: {inconsistency}", OBSERVED)
    if adapter is not None and not adapter.problem:
        add(
            f"adapter read from {ev.adapter_found_at} ({adapter.format}): {len(adapter.tensors)} tensors, "
            f"{adapter.parameter_count():,} parameters",
            READ,
        )
        tied = find_match(record, adapter)
        match = tied.snapshot.reason if tied else ("" if record and record.models else None)
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
