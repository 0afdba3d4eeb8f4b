"""Checks on the adapter the run saved, read from its files: type, target modules, the exact
tensors and count, and whether its IA3 vectors moved from their initial value."""

from __future__ import annotations

import numpy as np

from grader.checks.judgement import HIDDEN
from grader.checks.naming import difference_parts, listing
from grader.checks.provenance import find_match, run_change, untrained_reason
from grader.checks.registry import OBSERVED, READ, Judged, check, failed, not_run, passed
from grader.course.calibration import Calibration
from grader.evidence import tensors
from grader.evidence.findings import Findings
from grader.evidence.probe_record import is_adapter_tensor

# Tensor names of other PEFT methods; an IA3 adapter holds none of them.
OTHER_METHOD_MARKERS = ("lora_", "prompt_encoder", "prefix_encoder", "prompt_embeddings", "lokr_", "loha_", "vera_", "oft_", "boft_")


def full_model_message(found: list[dict], looked: str) -> str:
    first = found[0]
    size = f" ({first['parameters']:,} parameters in {first['tensors']} tensors)" if "parameters" in first else ""
    more = f" and {len(found) - 1} more weights files" if len(found) > 1 else ""
    return (
        f"no adapter saved (no adapter_config.json in {looked}), but a full model checkpoint: {first['path']}{size}{more}. "
        "The homework asks for the IA3 adapter only: call save_pretrained on the PeftModel returned by get_peft_model, "
        "not on merge_and_unload(), the base model or mindspore.save_checkpoint(model)"
    )


def ended_before_saving(ev) -> str | None:
    """Why no adapter is the run's failure, not a missing save: it crashed or was stopped first.
    Advice to call save_pretrained belongs only to a run that ended normally without saving."""
    run = ev.run
    if run is None or not (run.timed_out or run.exit_code != 0):
        return None
    how = f"was stopped at the {run.budget_seconds:g} s budget" if run.timed_out else f"failed (exit status {run.exit_code})"
    return f"the run {how} before it saved an adapter: fix what stopped it first (the criterion on the run says what)"


@check("adapter_type", "Adapter is IA3 for sequence classification", READ)
def adapter_type(f: Findings, cal: Calibration) -> Judged:
    ev, adapter, ref = f.evidence, f.adapter, cal.structure
    expected = f"{ref.peft_type} / {ref.task_type}"
    if adapter is None:
        looked = "; ".join(ev.searched) or "nowhere (nothing ran)"
        advice = ended_before_saving(ev) or "call model.save_pretrained($GRADER_OUTPUT_DIR)"
        if ev.ignored_adapters:
            ignored = "; ".join(f"{a['path']}: {a['reason']}" for a in ev.ignored_adapters)
            return failed(
                f"no adapter written by this run (ignored {ignored}); {ended_before_saving(ev) or 'train, then ' + advice}", expected
            )
        if ev.full_models:
            return failed(full_model_message(ev.full_models, looked), expected, [m["path"] for m in ev.full_models])
        return failed(f"no adapter saved: no adapter_config.json found (looked in {looked}); {advice}", expected)
    measured = f"{adapter.peft_type} / {adapter.task_type}"
    if adapter.problem:
        return failed(f"adapter at {ev.adapter_found_at}: {adapter.problem}", expected, measured)
    if (adapter.peft_type, adapter.task_type) != (ref.peft_type, ref.task_type):
        return failed(f"the adapter at {ev.adapter_found_at} is {measured}, not {expected}", expected, measured)
    foreign = sorted(n for n in adapter.tensors if any(marker in n for marker in OTHER_METHOD_MARKERS))
    if foreign:
        return failed(
            f"the adapter at {ev.adapter_found_at} says {measured} in its config but holds {len(foreign)} tensors of another "
            f"method: {listing(foreign)}; the tensors decide what was trained",
            expected,
            measured,
        )
    return passed(f"found at {ev.adapter_found_at}; config and tensors are IA3", expected, measured)


@check("ia3_modules", "IA3 target and feed-forward modules match the reference", READ)
def ia3_modules(f: Findings, cal: Calibration) -> Judged:
    adapter, ref = f.adapter, cal.structure
    expected = {"target_modules": ref.target_modules, "feedforward_modules": ref.feedforward_modules}
    if adapter is None:
        return not_run("no adapter to inspect", expected)
    measured = {key: adapter.module_list(key) for key in expected}
    if adapter.peft_type != "IA3":
        return failed(f"not an IA3 adapter ({adapter.peft_type or 'unknown type'})", expected, measured)
    wrong = [f"{key}: expected {expected[key]}, got {measured[key]}" for key in expected if set(measured[key]) != set(expected[key])]
    if wrong:
        return failed("; ".join(wrong), expected, measured)
    return passed("key, value and feed-forward modules as in the reference", expected, measured)


@check("trainable_parameters", "Trainable parameter count equals the reference", READ)
def trainable_parameters(f: Findings, cal: Calibration) -> Judged:
    adapter, ref = f.adapter, cal.structure
    expected = ref.trainable_parameters
    if adapter is None or adapter.problem:
        return not_run("no readable adapter weights", expected)
    measured = adapter.parameter_count()
    if measured == expected:
        return passed(f"{measured:,} trainable parameters saved in the adapter", expected, measured)
    ours, theirs = ref.adapter_tensors, adapter.shapes()
    missing, extra, reshaped = tensors.differences(ours, theirs)
    parts = [f"{measured:,} saved instead of {expected:,} ({measured - expected:+,})"]
    base = [n for n in theirs if not is_adapter_tensor(n) and n not in ours]
    if len(base) > len(ours):
        parts.append(f"this is a full model's weights ({len(base)} base-model tensors such as {base[0]}), not an IA3 adapter")
    parts += difference_parts(missing, extra, reshaped, ours, theirs, missing_as="missing {n} tensors", extra_as="unexpected {n} tensors")
    return failed("; ".join(parts), expected, measured)


@check("ia3_trained", "IA3 vectors were trained", f"{READ}, tied to what was {OBSERVED}")
def ia3_trained(f: Findings, _: Calibration) -> Judged:
    """Trained means optimised in this run: finite vectors, not one factor on every element,
    bit-identical to a model the probe saw take training steps, whose IA3 vectors those steps
    moved beyond float32 rounding, starting from get_peft_model's initialisation (not from
    weights loaded from files this run did not write). The reason for a failure is derived from
    the probe's record."""
    adapter = f.adapter
    expected = "IA3 vectors changed by training done in this run, from their initialisation, saved from that model"
    if adapter is None or adapter.problem:
        return not_run("no readable adapter weights", expected)
    vectors = {n: t for n, t in adapter.tensors.items() if n.endswith("ia3_l")}
    if not vectors:
        return failed("the adapter holds no IA3 vectors (*.ia3_l)", expected)
    values = np.concatenate([t.astype(np.float64).ravel() for t in vectors.values()])
    finite = values[np.isfinite(values)]
    measured = {"vectors": len(vectors), "distance_from_one": float(np.max(np.abs(finite - 1.0))) if finite.size else float("nan")}
    if finite.size < values.size:
        return failed(f"{values.size - finite.size} of {values.size} IA3 values are NaN or infinite: training diverged", expected, measured)
    if np.any(values != 1.0) and np.all(values == values[0]):
        message = (
            f"every element of all {len(vectors)} IA3 vectors equals {values[0]:.9g}: one factor on everything is a rescaling, not training"
        )
        return failed(message, expected, measured)
    why = untrained_reason(f.record, adapter)
    match = find_match(f.record, adapter)
    change = run_change(match) if match else None
    if change:
        measured |= {"changed_in_this_run": change.largest, "vectors_moved_in_this_run": change.vectors, "training_passes": change.passes}
    if why:
        return failed(why, expected, measured)
    return passed(
        f"{change.vectors} of {len(vectors)} vectors changed by training in this run, by at most {change.largest:.3g} "
        f"{change.since()} over {change.passes} training passes of {match.model.label()}",
        expected,
        measured,
    )


@check("reference_copy", "Adapter is not the reference solution's own", READ, visibility=HIDDEN, informational=True)
def not_the_reference_adapter(f: Findings, cal: Calibration) -> Judged:
    """A flag for the instructor, never a verdict: the saved tensors equal, bit for bit, those of the
    adapter the reference solution saved when the profile was calibrated (a leaked solution)."""
    reference = cal.reference_run.adapter_tensors_sha256
    if f.adapter is None or not f.adapter.tensors_digest:
        return not_run("no readable adapter weights")
    if not reference:
        return not_run("this profile's calibration records no reference adapter (`grade calibrate` with training records one)")
    if f.adapter.tensors_digest == reference:
        return failed(f"the saved tensors are bit-identical to the reference solution's adapter (sha256 {reference[:12]}...)")
    return passed("the saved tensors differ from the reference solution's adapter")
