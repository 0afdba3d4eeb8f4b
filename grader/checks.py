"""Judge the evidence of one run against the calibration. Each check is its own function with
its own status; a check that cannot be judged says why instead of raising."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import adapter as adapter_io
from . import evidence_checks, probe_record
from .evidence import Evidence
from .results import FAILED, NOT_RUN, PASSED, Check

LOSS_BACKWARD_HINT = (
    "under MindNLP 0.5 `loss.backward()` computes nothing; get gradients from "
    "torch.autograd.value_and_grad (or mindspore.value_and_grad) or use the transformers Trainer"
)


def last_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line.split(":")[0] or "Exception" in line.split(":")[0]]
    return (errors or lines or ["(no error output)"])[-1]


def check_run(ev: Evidence, stderr: str) -> Check:
    name = "Training script ran to completion"
    if ev.entry_problem:
        return Check("run", name, FAILED, ev.entry_problem)
    run = ev.run
    why = "".join(f"; {line}" for line in ev.diagnoses)
    if run.timed_out:
        return Check("run", name, FAILED, f"did not finish: ended by the grader at the {run.budget_seconds:g} s budget{why}")
    if run.exit_code != 0:
        return Check("run", name, FAILED, f"{ev.entry} exited with status {run.exit_code}: {last_error_line(stderr)}{why}")
    return Check("run", name, PASSED, f"{ev.entry} exited normally in {run.wall_seconds:.1f} s")


def check_budget(ev: Evidence) -> Check:
    name = "Finished within the time budget"
    if ev.run is None:
        return Check("budget", name, NOT_RUN, "nothing was run")
    expected, measured = f"<= {ev.run.budget_seconds:g} s", round(ev.run.wall_seconds, 1)
    if ev.run.timed_out:
        return Check("budget", name, FAILED, f"still running after {ev.run.budget_seconds:g} s; every process it started was ended", expected, measured)
    return Check("budget", name, PASSED, f"took {ev.run.wall_seconds:.1f} s", expected, measured)


def check_adapter_type(ev: Evidence, adapter: adapter_io.Adapter | None, ref: dict) -> Check:
    name = "Adapter is IA3 for sequence classification"
    expected = f"{ref['peft_type']} / {ref['task_type']}"
    if adapter is None:
        looked = "; ".join(ev.searched) or "nowhere (nothing ran)"
        if ev.full_models:
            return Check("adapter_type", name, FAILED, full_model_message(ev.full_models, looked), expected, [m["path"] for m in ev.full_models])
        return Check("adapter_type", name, FAILED, f"no adapter saved: no adapter_config.json found (looked in {looked}); call model.save_pretrained($GRADER_OUTPUT_DIR)", expected)
    measured = f"{adapter.peft_type} / {adapter.task_type}"
    if adapter.problem:
        return Check("adapter_type", name, FAILED, f"adapter at {ev.adapter_found_at}: {adapter.problem}", expected, measured)
    if (adapter.peft_type, adapter.task_type) != (ref["peft_type"], ref["task_type"]):
        return Check("adapter_type", name, FAILED, f"the adapter at {ev.adapter_found_at} is {measured}, not {expected}", expected, measured)
    return Check("adapter_type", name, PASSED, f"found at {ev.adapter_found_at}", expected, measured)


def full_model_message(found: list[dict], looked: str) -> str:
    first = found[0]
    size = f" ({first['parameters']:,} parameters in {first['tensors']} tensors)" if "parameters" in first else ""
    more = f" and {len(found) - 1} more weights files" if len(found) > 1 else ""
    return (
        f"no adapter saved (no adapter_config.json in {looked}), but a full model checkpoint: {first['path']}{size}{more}. "
        "The homework asks for the IA3 adapter only: call save_pretrained on the PeftModel returned by get_peft_model, "
        "not on merge_and_unload(), the base model or mindspore.save_checkpoint(model)"
    )


def check_modules(adapter: adapter_io.Adapter | None, ref: dict) -> Check:
    name = "IA3 target and feed-forward modules match the reference"
    expected = {"target_modules": ref["target_modules"], "feedforward_modules": ref["feedforward_modules"]}
    if adapter is None:
        return Check("ia3_modules", name, NOT_RUN, "no adapter to inspect", expected)
    measured = {key: adapter.module_list(key) for key in expected}
    if adapter.peft_type != "IA3":
        return Check("ia3_modules", name, FAILED, f"not an IA3 adapter ({adapter.peft_type or 'unknown type'})", expected, measured)
    wrong = [f"{key}: expected {expected[key]}, got {measured[key]}" for key in expected if set(measured[key]) != set(expected[key])]
    if wrong:
        return Check("ia3_modules", name, FAILED, "; ".join(wrong), expected, measured)
    return Check("ia3_modules", name, PASSED, "key, value and feed-forward modules as in the reference", expected, measured)


def _listing(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_trainable_count(adapter: adapter_io.Adapter | None, ref: dict) -> Check:
    name = "Trainable parameter count equals the reference"
    expected = ref["trainable_parameters"]
    if adapter is None or adapter.problem:
        return Check("trainable_parameters", name, NOT_RUN, "no readable adapter weights", expected)
    measured = adapter.parameter_count()
    if measured == expected:
        return Check("trainable_parameters", name, PASSED, f"{measured:,} trainable parameters saved in the adapter", expected, measured)
    ours, theirs = ref["adapter_tensors"], adapter.shapes()
    missing, extra, reshaped = evidence_checks.tensor_differences(ours, theirs)
    parts = [f"{measured:,} saved instead of {expected:,} ({measured - expected:+,})"]
    base = [n for n in theirs if not probe_record.is_adapter_tensor(n) and n not in ours]
    if len(base) > len(ours):
        parts.append(f"this is a full model's weights ({len(base)} base-model tensors such as {base[0]}), not an IA3 adapter")
    if missing:
        parts.append(f"missing {len(missing)} tensors: {_listing(missing)}")
    if extra:
        parts.append(f"unexpected {len(extra)} tensors: {_listing(extra)}")
    if reshaped:
        parts.append(f"different shapes: {_listing([f'{n} {theirs[n]} vs {ours[n]}' for n in reshaped])}")
    return Check("trainable_parameters", name, FAILED, "; ".join(parts), expected, measured)


def check_vectors_trained(adapter: adapter_io.Adapter | None) -> Check:
    """IA3 vectors start at exactly 1.0; a short run may move them by 1e-5, so compare exactly."""
    name = "IA3 vectors were trained"
    expected = "some IA3 vector differs from its initial value 1.0"
    if adapter is None or adapter.problem:
        return Check("ia3_trained", name, NOT_RUN, "no readable adapter weights", expected)
    vectors = {n: t for n, t in adapter.tensors.items() if n.endswith("ia3_l")}
    if not vectors:
        return Check("ia3_trained", name, FAILED, "the adapter holds no IA3 vectors (*.ia3_l)", expected)
    moved = [n for n, t in vectors.items() if np.any(t != 1.0)]
    largest = float(max(np.max(np.abs(t.astype(np.float64) - 1.0)) for t in vectors.values()))
    measured = {"vectors_moved": len(moved), "vectors": len(vectors), "max_abs_change": largest}
    if not moved:
        return Check("ia3_trained", name, FAILED, f"all {len(vectors)} IA3 vectors are still exactly 1.0, so training changed nothing; {LOSS_BACKWARD_HINT}", expected, measured)
    return Check("ia3_trained", name, PASSED, f"{len(moved)} of {len(vectors)} vectors moved (largest change {largest:.3g})", expected, measured)


def check_metric(metric: str, ev: Evidence, thresholds: dict, baseline: dict) -> Check:
    name = f"Validation {'accuracy' if metric == 'accuracy' else 'F1'} reaches the threshold"
    informational = bool(thresholds["informational"])
    note = " (informational: this profile's reference cannot beat the majority class)" if informational else ""
    expected = f">= {thresholds[metric]:.4f}"
    common = {"expected": expected, "required": not informational, "max_score": 0.0 if informational else 1.0}
    if ev.evaluation is None:
        if ev.evaluation_error:
            return Check(metric, name, FAILED, f"the grader could not evaluate the adapter: {ev.evaluation_error}{note}", **common)
        return Check(metric, name, NOT_RUN, f"no adapter to evaluate{note}", **common)
    value = ev.evaluation[metric]
    status = PASSED if value >= thresholds[metric] else FAILED
    message = f"measured by the grader on {ev.evaluation['examples']} validation pairs: {value:.4f}{note}"
    if abs(value - baseline[metric]) < 1e-9:
        message += f"; equals the majority-class baseline ({baseline[metric]:.4f})"
    return Check(metric, name, status, message, measured=round(value, 4), **common)


BASIS = {
    "run": "observed by the grader (exit status, stderr)",
    "budget": "observed by the grader (wall clock)",
    "adapter_type": evidence_checks.READ,
    "ia3_modules": evidence_checks.READ,
    "trainable_parameters": evidence_checks.READ,
    "ia3_trained": evidence_checks.READ,
    "accuracy": evidence_checks.MEASURED,
    "f1": evidence_checks.MEASURED,
}


def judge(ev: Evidence, calibration: dict, record: probe_record.ProbeRecord | None = None, adapter: adapter_io.Adapter | None = None) -> list[Check]:
    ref = calibration["structure"]
    if adapter is None and ev.adapter_dir:
        adapter = adapter_io.read(Path(ev.adapter_dir))
    if record is None and ev.probe_dir:
        record = probe_record.load(Path(ev.probe_dir))
    stderr = Path(ev.run.stderr_path).read_text(errors="replace") if ev.run and Path(ev.run.stderr_path).is_file() else ""
    found = [
        check_run(ev, stderr),
        check_adapter_type(ev, adapter, ref),
        check_modules(adapter, ref),
        check_trainable_count(adapter, ref),
        check_vectors_trained(adapter),
        check_metric("accuracy", ev, calibration["thresholds"], calibration["majority_baseline"]),
        check_metric("f1", ev, calibration["thresholds"], calibration["majority_baseline"]),
        check_budget(ev),
    ]
    for check in found:
        check.basis = check.basis or BASIS.get(check.id, "")
    return found + [
        evidence_checks.check_frozen_base(record),
        evidence_checks.check_trainable_set(record, ref),
        evidence_checks.check_collapse(ev, bool(calibration["thresholds"]["informational"])),
        evidence_checks.check_test_metrics(ev),
        evidence_checks.check_claimed_metrics(ev, evidence_checks.read_logs(ev)),
    ]
