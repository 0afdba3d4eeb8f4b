"""Re-score a graded submission without training again.

The stored evidence (evidence/evidence.json, the kept adapter, the logs) is judged again with
the current checks and calibration, then scored with the given rubric; the submission time
and grading time recorded at grading are kept. A folder moved since grading still works: the
evidence's own paths are looked up inside the folder when the originals are gone.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from . import calibration, pipeline, profiles, store
from .errors import CannotGrade
from .evidence import FILE as EVIDENCE_FILE
from .evidence import Evidence
from .rubric import Rubric
from .scoring import ScoredResult


def _evidence_dir(folder: Path) -> Path:
    for candidate in (folder / "evidence", folder):
        if (candidate / EVIDENCE_FILE).is_file():
            return candidate
    raise CannotGrade(f"no {EVIDENCE_FILE} in {folder} or {folder / 'evidence'}: give a folder written by `grade`")


def _relocated(ev: Evidence, evidence_dir: Path) -> Evidence:
    """Point the stored absolute paths into this evidence folder when they moved with it."""
    if ev.adapter_dir and not Path(ev.adapter_dir).is_dir() and (evidence_dir / "adapter").is_dir():
        ev.adapter_dir = str(evidence_dir / "adapter")
    if ev.run:
        logs = evidence_dir / "logs"
        paths = {}
        for key in ("stdout_path", "stderr_path"):
            old = Path(getattr(ev.run, key))
            if not old.is_file() and (logs / old.name).is_file():
                paths[key] = str(logs / old.name)
        ev.run = replace(ev.run, **paths)
    return ev


def _previous(folder: Path) -> dict:
    """What the earlier grading recorded: profile, time taken, submission time."""
    if (folder / store.FILE).is_file():
        data = json.loads((folder / store.FILE).read_text())
        late = data.get("late", {})
        return {"profile": data["result"]["profile"], "execution_time": data["result"]["execution_time"],
                "submitted_at": late.get("submitted_at"), "time_source": late.get("source", "unknown")}
    if (folder / "results.json").is_file():  # graded before scored.json existed
        data = json.loads((folder / "results.json").read_text())
        return {"profile": None, "execution_time": data.get("execution_time", 0.0), "submitted_at": None, "time_source": "unknown"}
    return {"profile": None, "execution_time": 0.0, "submitted_at": None, "time_source": "unknown"}


def rescore(folder: Path, rubric: Rubric, out_dir: Path | None = None, profile_name: str | None = None,
            submitted_at: str | None = None) -> ScoredResult:
    folder = Path(folder)
    evidence_dir = _evidence_dir(folder)
    result_dir = folder if evidence_dir != folder else folder.parent
    before = _previous(result_dir)
    name = profile_name or before["profile"]
    if not name:
        raise CannotGrade(f"{folder} does not record its profile; pass --profile")
    profile = profiles.load(name)
    ev = _relocated(Evidence.load(evidence_dir), evidence_dir)
    result = pipeline.judge(ev, calibration.load_for(profile), profile, before["execution_time"])
    when, source = (submitted_at, "--submitted-at") if submitted_at else (before["submitted_at"], before["time_source"])
    return pipeline.write_outputs(result, Path(out_dir) if out_dir else result_dir, rubric, when, source)
