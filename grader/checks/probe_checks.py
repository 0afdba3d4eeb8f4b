"""Checks on what the grader's probe observed inside the run: which tensors were trainable and
whether the base weights stayed bit-identical.

The probe shares its process with the student's code, so its record is evidence, not proof:
every message says where its facts come from.
"""

from __future__ import annotations

from grader.checks.naming import difference_parts, listing, short
from grader.checks.registry import OBSERVED, Judged, check, failed, not_run, passed
from grader.course.calibration import Calibration
from grader.course.course_fingerprints import CourseModel
from grader.evidence import tensors
from grader.evidence.findings import Findings
from grader.evidence.probe_record import ModelRecord, ProbeRecord, is_adapter_tensor

IA3_HINT = "IA3 trains only its vectors and the classifier head; leave every other parameter frozen"


def _no_record(record: ProbeRecord | None) -> str | None:
    if record is None:
        return "the grader's probe left no record (the run did not start Python, or the probe was not installed)"
    if record.inconsistent:
        return f"the probe's record is inconsistent, so it is not trusted: {record.inconsistencies[0]}" + (
            f" (and {record.inconsistent - 1:,} more)" if record.inconsistent > 1 else ""
        )
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


def _anything_trained(record: ProbeRecord) -> bool:
    """Whether any parameter of any observed model differs between creation and its last record."""
    return any(model.changed_since_creation() for model in record.models)


@check("frozen_base", "Base model weights stayed frozen", OBSERVED)
def frozen_base(f: Findings, _: Calibration) -> Judged:
    """Base weights (frozen when the PEFT model was built) must be bit-identical at the end."""
    record = f.record
    expected = "every base tensor frozen at creation is unchanged and never made trainable"
    problem = _no_record(record)
    if problem:
        return not_run(problem, expected)
    moved, unfrozen, seen = [], [], {}
    later = [m for m in record.models if len(m.before_merge) > 1]
    for model in record.models:
        base = {n: p for n, p in model.created.params.items() if not p.trainable and not is_adapter_tensor(n)}
        seen.update(base)  # a model built again on the same base (an adapter reloaded) holds the same tensors
        for snapshot in model.before_merge[1:]:
            for n, p in snapshot.params.items():
                if n in base and p.fingerprint != base[n].fingerprint and n not in moved:
                    moved.append(n)
                if n in base and p.trainable and n not in unfrozen:
                    unfrozen.append(n)
    if not later:
        return not_run("only the building of the model was observed: the run was killed before any later record", expected)
    checked, sizes = len(seen), sum(p.size for p in seen.values())
    main = record.main_model()
    measured = {"base_tensors": checked, "changed": [short(n) for n in moved], "made_trainable": [short(n) for n in unfrozen]}
    if not moved and not unfrozen and not _anything_trained(record):
        return not_run("no parameter changed during the run, so there was no training to judge this by", expected, measured)
    against = _against_course(record, f.course)
    measured["course_model"] = against.measured
    if against.differ:
        return failed(against.message, expected, measured)
    if moved or unfrozen:
        both = [n for n in moved if n in unfrozen]
        groups = [
            (both, "were made trainable after the PEFT model was built and changed"),
            (
                [n for n in moved if n not in unfrozen],
                "changed although they stayed frozen (updated outside requires_grad, e.g. all parameters handed to the optimizer)",
            ),
            ([n for n in unfrozen if n not in moved], "were made trainable (not changed)"),
        ]
        parts = [f"{len(names)} base tensors {what}: {listing(names)}" for names, what in groups if names]
        return failed("; ".join(parts) + f" ({IA3_HINT})", expected, measured)
    until = (
        f"until merge_and_unload folded the adapter into them ({main.before_merge[-1].t:.0f} s)" if main.merged else _ending(record, main)
    )
    message = f"all {checked} base tensors ({sizes:,} parameters) identical from creation {until}; {against.message}"
    return passed(message, expected, measured)


class _CourseComparison:
    """The base tensors of the trained models at their creation against the course model's own."""

    def __init__(self, differ: list[str], compared: int, message: str, measured: dict):
        self.differ, self.compared, self.message, self.measured = differ, compared, message, measured


def _against_course(record: ProbeRecord, course: CourseModel | None) -> _CourseComparison:
    if course is None or course.problem or not course.tensors:
        why = course.problem if course and course.problem else "the course model's fingerprints were not recorded with this grading"
        return _CourseComparison([], 0, f"not compared with the course model ({why})", {"compared": 0, "problem": why})
    differ, compared, absent = [], set(), set()
    for model in [m for m in record.models if m.train_forwards] or record.models:
        for name, param in model.created.params.items():
            if param.trainable or is_adapter_tensor(name):
                continue
            theirs = course.fingerprint(name, param.shape, param.dtype)
            if theirs is None:
                absent.add(name)
                continue
            compared.add(name)
            if param.fingerprint != theirs and name not in differ:
                differ.append(name)
    measured = {"compared": len(compared), "differ": [short(n) for n in differ], "not_in_course_model": len(absent)}
    if differ:
        message = (
            f"{len(differ)} of {len(compared)} base tensors already differed from the course model's own when the PEFT model "
            f"was built: {listing(differ)}. The base was changed before IA3 was attached (fine-tuned first, or loaded from other "
            "weights); build the IA3 model on the course model as downloaded and train only through IA3"
        )
        return _CourseComparison(differ, len(compared), message, measured)
    if not compared:
        none = "no base tensor could be compared with the course model's (names, shapes or dtypes differ)"
        return _CourseComparison([], 0, none, measured)
    return _CourseComparison([], len(compared), f"{len(compared)} of them identical to the course model's own when it was built", measured)


@check("trainable_set", "Trainable tensors are exactly the reference's", OBSERVED)
def trainable_set(f: Findings, cal: Calibration) -> Judged:
    """The tensors the run trained, by name and shape, against the reference's."""
    record = f.record
    ours = cal.structure.trainable_tensors
    expected = f"{len(ours)} tensors, {tensors.total(ours):,} parameters"
    problem = _no_record(record)
    if problem:
        return not_run(problem, expected)
    if not _anything_trained(record):
        return not_run("no parameter changed during the run, so there was no training whose trainable set to judge", expected)
    model = record.main_model()
    theirs = model.trainable_ever()
    missing, extra, reshaped = tensors.differences(ours, theirs)
    count = tensors.total(theirs)
    measured = {"tensors": len(theirs), "parameters": count, "extra": [short(n) for n in extra], "missing": [short(n) for n in missing]}
    if not (missing or extra or reshaped):
        return passed(
            f"{len(theirs)} trainable tensors ({count:,} parameters) in {model.label()}, the same names and shapes as the reference",
            expected,
            measured,
        )
    parts = [f"{model.label()} trained {len(theirs)} tensors ({count:,} parameters)"]
    parts += difference_parts(
        missing, extra, reshaped, ours, theirs, missing_as="{n} of the reference's never trainable", extra_as="{n} not in the reference"
    )
    return failed("; ".join(parts), expected, measured)
