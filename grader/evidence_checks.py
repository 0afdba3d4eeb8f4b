"""Checks that rest on what was observed inside the run (the probe's record), on the grader's
evaluation of the held-out test split, and on what the student's output claims.

The probe shares its process with the student's code, so its record is evidence, not proof:
every message says where its facts come from, and `facts()` cross-checks the record against the
saved adapter and the grader's own evaluation.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import claims as claims_io
from .adapter import Adapter
from .evidence import Evidence
from .probe_record import ModelRecord, ProbeRecord, is_adapter_tensor
from .results import FAILED, HIDDEN, NOT_RUN, PASSED, Check

OBSERVED = "observed in the run by the grader's probe"
MEASURED = "measured by the grader"
READ = "read from the saved files"
CLAIMED = "printed by the student's code"
INFERRED = "inferred"
CLAIM_TOLERANCE = 0.02  # absolute; about 8 of MRPC's 408 validation pairs
GAP_STANDARD_ERRORS = 3.0  # a validation/test gap this many standard errors wide is not chance
IA3_HINT = "IA3 trains only its vectors and the classifier head; leave every other parameter frozen"


def short(name: str) -> str:
    return name.removeprefix("base_model.model.")


def tensor_differences(ours: dict, theirs: dict) -> tuple[list[str], list[str], list[str]]:
    """Missing, extra and reshaped tensor names between the reference's and a run's name -> shape maps."""
    missing = sorted(set(ours) - set(theirs))
    extra = sorted(set(theirs) - set(ours))
    reshaped = sorted(n for n in set(ours) & set(theirs) if ours[n] != theirs[n])
    return missing, extra, reshaped


def _listing(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(short(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _no_record(record: ProbeRecord | None) -> str | None:
    if record is None:
        return "the grader's probe left no record (the run did not start Python, or the probe was not installed)"
    if not record.models:
        where = " or ".join(record.attached) or "peft (never imported)"
        return f"no PEFT model was built in the run (the probe watched {where}), so there was nothing to observe"
    return None


def _ending(record: ProbeRecord, model: ModelRecord) -> str:
    last = model.last
    if record.end == "terminated":
        return f"until the run was stopped (last record at {last.t:.0f} s)"
    if record.end == "exit":
        return f"until the run exited ({last.t:.0f} s)"
    return f"until {last.t:.0f} s (the run was killed before its last record; later changes are unseen)"


def check_frozen_base(record: ProbeRecord | None) -> Check:
    """Base weights (frozen when the PEFT model was built) must be bit-identical at the end."""
    name = "Base model weights stayed frozen"
    expected = "every base tensor frozen at creation is unchanged and never made trainable"
    problem = _no_record(record)
    if problem:
        return Check("frozen_base", name, NOT_RUN, problem, expected, basis=OBSERVED)
    moved, unfrozen, checked, sizes = [], [], 0, 0
    later = [m for m in record.models if len(m.before_merge) > 1]
    for model in record.models:
        base = {n: p for n, p in model.created.params.items() if not p.trainable and not is_adapter_tensor(n)}
        checked += len(base)
        sizes += sum(p.size for p in base.values())
        for snapshot in model.before_merge[1:]:
            for n, p in snapshot.params.items():
                if n in base and p.fingerprint != base[n].fingerprint and n not in moved:
                    moved.append(n)
                if n in base and p.trainable and n not in unfrozen:
                    unfrozen.append(n)
    if not later:
        return Check("frozen_base", name, NOT_RUN, "only the building of the model was observed: the run was killed before any later record", expected, basis=OBSERVED)
    main = record.main_model()
    measured = {"base_tensors": checked, "changed": [short(n) for n in moved], "made_trainable": [short(n) for n in unfrozen]}
    if not moved and not unfrozen and not _anything_trained(record):
        return Check("frozen_base", name, NOT_RUN, "no parameter changed during the run, so there was no training to judge this by", expected, measured, basis=OBSERVED)
    if moved or unfrozen:
        both = [n for n in moved if n in unfrozen]
        groups = [
            (both, "were made trainable after the PEFT model was built and changed"),
            ([n for n in moved if n not in unfrozen], "changed although they stayed frozen (updated outside requires_grad, e.g. all parameters handed to the optimizer)"),
            ([n for n in unfrozen if n not in moved], "were made trainable (not changed)"),
        ]
        parts = [f"{len(names)} base tensors {what}: {_listing(names)}" for names, what in groups if names]
        return Check("frozen_base", name, FAILED, "; ".join(parts) + f" ({IA3_HINT})", expected, measured, basis=OBSERVED)
    until = f"until merge_and_unload folded the adapter into them ({main.before_merge[-1].t:.0f} s)" if main.merged else _ending(record, main)
    return Check("frozen_base", name, PASSED, f"all {checked} base tensors ({sizes:,} parameters) identical from creation {until}", expected, measured, basis=OBSERVED)


def _anything_trained(record: ProbeRecord) -> bool:
    """Whether any parameter of any observed model differs between creation and its last record."""
    for model in record.models:
        last = model.before_merge[-1].params if model.before_merge else {}
        if any(n in last and last[n].fingerprint != p.fingerprint for n, p in model.created.params.items()):
            return True
    return False


def check_trainable_set(record: ProbeRecord | None, ref: dict) -> Check:
    """The tensors the run trained, by name and shape, against the reference's."""
    name = "Trainable tensors are exactly the reference's"
    ours = {n: tuple(s) for n, s in ref["trainable_tensors"].items()}
    expected = f"{len(ours)} tensors, {sum(math.prod(s) for s in ours.values()):,} parameters"
    problem = _no_record(record)
    if problem:
        return Check("trainable_set", name, NOT_RUN, problem, expected, basis=OBSERVED)
    model = record.main_model()
    theirs = model.trainable_ever()
    missing, extra, reshaped = tensor_differences(ours, theirs)
    count = sum(math.prod(s) for s in theirs.values())
    measured = {"tensors": len(theirs), "parameters": count, "extra": [short(n) for n in extra], "missing": [short(n) for n in missing]}
    if not (missing or extra or reshaped):
        return Check("trainable_set", name, PASSED, f"{len(theirs)} trainable tensors ({count:,} parameters) in {model.label()}, the same names and shapes as the reference", expected, measured, basis=OBSERVED)
    parts = [f"{model.label()} trained {len(theirs)} tensors ({count:,} parameters)"]
    if extra:
        parts.append(f"{len(extra)} not in the reference: {_listing(extra)}")
    if missing:
        parts.append(f"{len(missing)} of the reference's never trainable: {_listing(missing)}")
    if reshaped:
        parts.append(f"different shapes: {_listing([f'{short(n)} {list(theirs[n])} vs {list(ours[n])}' for n in reshaped])}")
    return Check("trainable_set", name, FAILED, "; ".join(parts), expected, measured, basis=OBSERVED)


def check_collapse(ev: Evidence, informational: bool) -> Check:
    """One predicted class everywhere is named as such, whatever the metric thresholds say."""
    name = "Predictions are not collapsed to one class"
    expected = "both classes predicted on the validation split"
    note = " (informational: this profile's reference collapses too)" if informational else ""
    common = {"expected": expected, "required": not informational, "max_score": 0.0 if informational else 1.0, "basis": MEASURED}
    if ev.evaluation is None:
        return Check("collapse", name, NOT_RUN, f"no evaluation to inspect{note}", **common)
    rate, n = ev.evaluation.get("positive_rate"), ev.evaluation.get("examples", 0)
    if rate is None:
        return Check("collapse", name, NOT_RUN, f"the stored evaluation has no share of positive predictions{note}", **common)
    measured = {"positive_rate": round(rate, 4)}
    if rate in (0.0, 1.0):
        label = "1 (equivalent)" if rate == 1.0 else "0 (not equivalent)"
        message = (
            f"the model predicts class {label} for all {n} validation pairs: accuracy {ev.evaluation['accuracy']:.4f} / "
            f"F1 {ev.evaluation['f1']:.4f} is what a constant answer scores, not learning{note}"
        )
        return Check("collapse", name, FAILED, message, measured=measured, **common)
    return Check("collapse", name, PASSED, f"{rate:.1%} of {n} validation pairs predicted as equivalent{note}", measured=measured, **common)


def gap_limit(accuracy: float, n_validation: int, n_test: int) -> float:
    """GAP_STANDARD_ERRORS standard errors of the difference of two independent accuracies."""
    p = min(max(accuracy, 0.01), 0.99)
    return GAP_STANDARD_ERRORS * math.sqrt(p * (1 - p) / n_validation + p * (1 - p) / n_test)


def check_test_metrics(ev: Evidence) -> Check:
    """The held-out test split beside validation; a gap beyond chance is flagged. Instructor only."""
    name = "Held-out test split agrees with validation"
    common = {"required": False, "max_score": 0.0, "visibility": HIDDEN, "basis": MEASURED}
    if ev.evaluation is None:
        return Check("test_metrics", name, NOT_RUN, "no adapter the grader could evaluate", **common)
    if ev.test_evaluation is None:
        return Check("test_metrics", name, NOT_RUN, ev.test_evaluation_error or "the test split was not evaluated", **common)
    val, test = ev.evaluation, ev.test_evaluation
    limit = gap_limit((val["accuracy"] + test["accuracy"]) / 2, val["examples"], test["examples"])
    gap = val["accuracy"] - test["accuracy"]
    measured = {split: {k: round(m[k], 4) for k in ("accuracy", "f1", "positive_rate")} | {"examples": m["examples"]} for split, m in (("validation", val), ("test", test))}
    side_by_side = (
        f"validation accuracy {val['accuracy']:.4f} / F1 {val['f1']:.4f} ({val['examples']} pairs); "
        f"test accuracy {test['accuracy']:.4f} / F1 {test['f1']:.4f} ({test['examples']} pairs)"
    )
    expected = f"|validation - test accuracy| <= {limit:.4f} ({GAP_STANDARD_ERRORS:g} standard errors)"
    if abs(gap) > limit:
        direction = "validation is better: tuned to (or trained on) the validation split?" if gap > 0 else "test is better"
        return Check("test_metrics", name, FAILED, f"{side_by_side}; gap {gap:+.4f} is beyond chance ({direction})", expected, measured, **common)
    return Check("test_metrics", name, PASSED, f"{side_by_side}; gap {gap:+.4f} within chance", expected, measured, **common)


def read_logs(ev: Evidence) -> str:
    if not ev.run:
        return ""
    return "\n".join(Path(p).read_text(errors="replace") for p in (ev.run.stdout_path, ev.run.stderr_path) if Path(p).is_file())


def check_claimed_metrics(ev: Evidence, log_text: str) -> Check:
    """What the student printed against what the grader measured. Instructor only."""
    name = "Metrics the run printed match the grader's"
    common = {"required": False, "max_score": 0.0, "visibility": HIDDEN, "basis": f"{CLAIMED}, compared with what was {MEASURED}"}
    found = claims_io.final(claims_io.parse(log_text))
    expected = f"within {CLAIM_TOLERANCE} of the grader's validation metrics"
    if not found:
        return Check("claimed_metrics", name, NOT_RUN, "the run printed no accuracy or F1", expected, **common)
    claimed = {metric: round(claim.value, 4) for metric, claim in found.items()}
    if ev.evaluation is None:
        return Check("claimed_metrics", name, NOT_RUN, f"the run claims {claimed}, but the grader had no adapter to measure", expected, {"claimed": claimed}, **common)
    differences = {metric: round(claim.value - ev.evaluation[metric], 4) for metric, claim in found.items()}
    measured = {"claimed": claimed, "measured": {m: round(ev.evaluation[m], 4) for m in found}, "difference": differences}
    off = [m for m, d in differences.items() if abs(d) > CLAIM_TOLERANCE]
    if off:
        parts = [f"{m} claimed {found[m].value:.4f} (\"{found[m].line}\"), measured {ev.evaluation[m]:.4f}" for m in off]
        return Check("claimed_metrics", name, FAILED, "; ".join(parts) + f": differs by more than {CLAIM_TOLERANCE}", expected, measured, **common)
    return Check("claimed_metrics", name, PASSED, f"last printed {claimed} agree with the grader's measurement", expected, measured, **common)


def adapter_matches_run(record: ProbeRecord | None, adapter: Adapter | None) -> str | None:
    """The snapshot (save_pretrained first) whose trainable tensors equal the saved adapter's bits:
    "save", "exit", ...; "" when none does; None when there is nothing to compare."""
    if record is None or not record.models or adapter is None or adapter.problem or not adapter.tensors:
        return None
    import zlib

    saved = {n: f"{zlib.crc32(memoryview(np.ascontiguousarray(t)).cast('B')):08x}" for n, t in adapter.tensors.items()}
    snapshots = [s for m in record.models for s in m.saves] + [s for m in record.models for s in m.snapshots if s.reason != "save"]
    for snapshot in snapshots:
        observed = {n.replace("modules_to_save.default.", "").replace(".default", ""): p.fingerprint for n, p in snapshot.params.items() if p.trainable}
        if all(observed.get(n) == f for n, f in saved.items()):
            return snapshot.reason
    return ""


def facts(ev: Evidence, record: ProbeRecord | None, adapter: Adapter | None) -> list[dict]:
    """What the verdict rests on, each with where it comes from (shown to the student)."""
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
            add(f"{model.label()} built with {configs}: {trainable:,} of {sum(p.size for p in created.values()):,} parameters trainable", OBSERVED)
            losses = f"; loss {model.losses[0]:.4f} at the first step, {model.losses[-1]:.4f} at the last" if model.losses else "; no loss returned by the model"
            add(f"{model.label()}: {model.train_forwards} forward passes in training mode{losses if model.train_forwards else ''}", OBSERVED)
            for snapshot in model.saves:
                add(f"{model.label()} saved with save_pretrained after {snapshot.train_forwards} training passes", OBSERVED)
            if model.merged:
                add(f"{model.label()}: the adapter layers were merged into the base model and removed (merge_and_unload) after {model.before_merge[-1].t:.0f} s", OBSERVED)
        add({"exit": "the run ended normally", "terminated": "the run was stopped by the grader (SIGTERM)"}.get(record.end, "the run was killed before the probe's last record"), OBSERVED)
        for problem in record.problems:
            add(problem, OBSERVED)
    if adapter is not None and not adapter.problem:
        add(f"adapter read from {ev.adapter_found_at} ({adapter.format}): {len(adapter.tensors)} tensors, {adapter.parameter_count():,} parameters", READ)
        match = adapter_matches_run(record, adapter)
        when = {"save": "at its save_pretrained", "exit": "at the end of the run", "created": "when it was built, before any training"}
        if match:
            add(f"the saved adapter is bit-identical to the trainable tensors of the model observed {when.get(match, f'at a {match} snapshot')}", f"{INFERRED} from {OBSERVED} and {READ}")
        elif match == "":
            add("the saved adapter equals the trainable tensors of no model observed in this run (not saved from the model this run trained)", f"{INFERRED} from {OBSERVED} and {READ}")
    if ev.evaluation:
        add(f"validation accuracy {ev.evaluation['accuracy']:.4f} / F1 {ev.evaluation['f1']:.4f} from the base model plus this adapter, eval mode, seeded", MEASURED)
    return found
