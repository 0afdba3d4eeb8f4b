"""Re-score a graded submission without training again.

The stored evidence (evidence/evidence.json, the kept adapter, the probe's record, the logs) is
judged again with the current checks and calibration, then scored with the given rubric; the
submission time and grading time recorded at grading are kept. A folder moved since grading
still works: the evidence's own paths are looked up inside the folder when the originals are gone.
"""

from __future__ import annotations

import json
from pathlib import Path

from grader import pipeline
from grader.checks.judge import judge
from grader.course import calibration, profiles
from grader.errors import CannotGrade
from grader.evidence.findings import Findings
from grader.evidence.record import FILE as EVIDENCE_FILE
from grader.evidence.record import Evidence
from grader.outputs import files
from grader.scoring.rubric import Rubric
from grader.scoring.score import ScoredResult


def _evidence_dir(folder: Path) -> Path:
    for candidate in (folder / files.EVIDENCE_DIR, folder):
        if (candidate / EVIDENCE_FILE).is_file():
            return candidate
    raise CannotGrade(f"no {EVIDENCE_FILE} in {folder} or {folder / files.EVIDENCE_DIR}: give a folder written by `grade`")


def _previous(folder: Path) -> dict:
    """What the earlier grading recorded: profile, student, time taken, submission time."""
    if (folder / files.SCORED).is_file():
        data = json.loads((folder / files.SCORED).read_text())
        late = data.get("late", {})
        return {
            "profile": data["result"]["profile"],
            "student": data["result"].get("student", ""),
            "execution_time": data["result"]["execution_time"],
            "submitted_at": late.get("submitted_at"),
            "time_source": late.get("source", "unknown"),
        }
    return {"profile": None, "student": "", "execution_time": 0.0, "submitted_at": None, "time_source": "unknown"}


def rescore(
    folder: Path, rubric: Rubric, out_dir: Path | None = None, profile_name: str | None = None, submitted_at: str | None = None
) -> ScoredResult:
    folder = Path(folder)
    evidence_dir = _evidence_dir(folder)
    result_dir = folder if evidence_dir != folder else folder.parent
    before = _previous(result_dir)
    name = profile_name or before["profile"]
    if not name:
        raise CannotGrade(f"{folder} does not record its profile; pass --profile")
    profile = profiles.load(name)
    findings = Findings.load(Evidence.load(evidence_dir))
    result = judge(findings, calibration.load_for(profile.name), profile, before["execution_time"])
    result.student = before["student"]
    when, source = (submitted_at, "--submitted-at") if submitted_at else (before["submitted_at"], before["time_source"])
    return pipeline.score_and_write(result, Path(out_dir) if out_dir else result_dir, rubric, when, source)
