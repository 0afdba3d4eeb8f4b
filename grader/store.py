"""scored.json: the whole scored result of one submission, for the instructor. Re-scoring, the
class summary and the gradebook read it back instead of grading again."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from . import rubric as rubric_io
from .errors import CannotGrade
from .results import Check, GradingResult
from .scoring import CriterionScore, Late, ScoredResult

FILE = "scored.json"


def result_from_dict(data: dict) -> GradingResult:
    known = {f.name for f in dataclasses.fields(Check)}
    checks = [Check(**{k: v for k, v in c.items() if k in known}) for c in data["checks"]]
    return GradingResult(data["submission"], data["profile"], checks, data["execution_time"],
                         data.get("measurements", {}), data.get("environment", {}), data.get("log_excerpt", ""),
                         data.get("facts", []), data.get("student", ""))


def save(scored: ScoredResult, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE
    path.write_text(json.dumps(scored.to_dict(), indent=2, default=str) + "\n")
    return path


def load(folder: Path) -> ScoredResult:
    path = Path(folder) / FILE
    if not path.is_file():
        raise CannotGrade(f"{folder} holds no {FILE}; grade the submission into that folder first")
    data = json.loads(path.read_text())
    return ScoredResult(
        result=result_from_dict(data["result"]),
        rubric=rubric_io.from_dict(data["rubric"]),
        criteria=[CriterionScore(**c) for c in data["criteria"]],
        unscored=[CriterionScore(**c) for c in data["unscored"]],
        late=Late(**data["late"]),
        scored_at=data["scored_at"],
        warnings=data.get("warnings", []),
    )
