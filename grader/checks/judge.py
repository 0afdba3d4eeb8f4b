"""Judge one run's findings against the calibration: every registered check, the measurements
shown beside them, and the facts the verdict rests on. No points: scoring/ weighs the result."""

from __future__ import annotations

from grader.checks import registry
from grader.checks.facts import facts
from grader.checks.judgement import GradingResult
from grader.course.calibration import Calibration
from grader.course.profiles import Profile
from grader.course.versions import versions
from grader.evidence import evaluation, parameter_groups
from grader.evidence.findings import Findings
from grader.run.isolation import LABELS, NONE, SANDBOX
from grader.run.sandbox import UNSAFE

# Measurements that only the instructor may see (held-out test split, what the student claimed).
INSTRUCTOR_ONLY_PREFIXES = ("test_", "claimed_")


def measurements(f: Findings, cal: Calibration) -> dict:
    """What the report shows beside the checks; never read by scoring."""
    ev, adapter = f.evidence, f.adapter
    shown = {
        "trainable_parameters_expected": cal.structure.trainable_parameters,
        "wall_seconds": ev.run.wall_seconds if ev.run else None,
        "timed_out": ev.run.timed_out if ev.run else False,
        "exit_code": ev.run.exit_code if ev.run else None,
        "adapter_found_at": ev.adapter_found_at,
        "other_adapters": ev.other_adapters,  # found too, not graded (adapter.CHOICE_RULE)
        "source": ev.source,
    }
    if adapter:
        shown["trainable_parameters"] = adapter.parameter_count()
        shown["adapter_format"] = adapter.format
    shown["parameter_groups"] = parameter_groups.groups(cal.structure, adapter.shapes() if adapter else None)
    if ev.evaluation:
        shown.update({f"validation_{k}": v for k, v in ev.evaluation.items()})
    if ev.test_evaluation:  # instructor only
        shown.update({f"test_{k}": v for k, v in ev.test_evaluation.items()})
    shown.update({f"claimed_{metric}": claim.value for metric, claim in f.claims.items()})
    main_model = f.record.main_model() if f.record else None
    if main_model and main_model.losses:
        shown["loss_curve"] = main_model.losses  # observed by the probe, one per training step
    return shown


def isolation_used(ev) -> dict:
    """The isolation mode the grading chose and its one-line label (run/isolation.py); for a record
    from before modes were named, what its run's record says (the sandbox, or none)."""
    chosen = ev.isolation or {}
    if chosen.get("mode"):
        return {"isolation_mode": chosen["mode"], "isolation_label": chosen.get("label") or chosen["mode"]}
    if ev.run and ev.run.isolation:
        mode = NONE if ev.run.isolation.get("sandbox") == UNSAFE else SANDBOX
        return {"isolation_mode": mode, "isolation_label": f"isolation: {LABELS[mode]}"}
    return {"isolation_mode": None, "isolation_label": None}


def environment(f: Findings, cal: Calibration, profile: Profile) -> dict:
    ev = f.evidence
    return {
        "versions": versions(),
        "device": ev.device or profile.device,
        "isolation": ev.run.isolation if ev.run else None,
        "sandbox": (ev.run.isolation or {}).get("sandbox") if ev.run else None,
        **isolation_used(ev),
        "cpu_compatibility": ev.cpu_compatibility,
        "seed": profile.seed,
        "budget_seconds": ev.run.budget_seconds if ev.run else profile.budget_seconds,
        "calibration_created": cal.created,
        "reference_source": cal.reference_run.source,
        "evaluation": f"eval mode, no gradients, seed {profile.seed}, batches of {evaluation.BATCH_SIZE} sorted by length",
    }


def judge(f: Findings, cal: Calibration, profile: Profile, execution_time: float) -> GradingResult:
    return GradingResult(
        f.evidence.submission,
        profile.name,
        registry.judge_all(f, cal),
        execution_time,
        measurements(f, cal),
        environment(f, cal, profile),
        f.log_excerpt(),
        facts(f),
        standard=cal.standard,
    )
