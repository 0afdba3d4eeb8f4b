"""Checks on the data the run trained on, from the probe's fingerprints of its training rows
(evidence/training_rows.py). Instructor only, worth nothing: a flag, never a score."""

from __future__ import annotations

from grader.checks.judgement import HIDDEN
from grader.checks.registry import OBSERVED, Judged, check, failed, not_run, passed
from grader.course.calibration import Calibration
from grader.evidence.findings import Findings


@check("validation_not_trained", "Validation pairs were not fed to training", OBSERVED, visibility=HIDDEN, informational=True)
def validation_not_trained(f: Findings, _: Calibration) -> Judged:
    rows = f.evidence.training_rows
    if rows is None:
        return not_run("the probe recorded no training-mode forward pass with input_ids, so there are no training rows to compare")
    if rows.get("unavailable"):
        return not_run(rows["unavailable"])
    observed, measured = rows["rows_observed"], rows["validation_pairs"]
    counts = f"{rows['train_rows']} matched training pairs, {rows['validation_rows']} validation pairs, {rows['neither']} neither"
    if measured:
        return failed(
            f"{measured} of the {rows['validation_total']} validation pairs (idx {', '.join(map(str, rows['examples']))}"
            f"{', ...' if measured > len(rows['examples']) else ''}) were fed to training-mode forward passes: of {observed} "
            f"training rows observed, {counts}. Source: {rows['source']}",
            0,
            measured,
        )
    return passed(f"no validation pair among the {observed} training rows observed ({counts}). Source: {rows['source']}", 0, 0)
