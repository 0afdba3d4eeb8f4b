"""scored.json: the whole scored result of one submission, for the instructor. Re-scoring, the
class summary and the gradebook read it back instead of grading again."""

from __future__ import annotations

import json
from pathlib import Path

from grader.checks.judgement import GradingResult
from grader.errors import CannotGrade
from grader.scoring import rubric as rubric_io
from grader.scoring.score import CriterionScore, Late, ScoredResult

FILE = "scored.json"


def dumps(scored: ScoredResult) -> str:
    return json.dumps(scored.to_dict(), indent=2, default=str) + "\n"


def load(folder: Path) -> ScoredResult:
    path = Path(folder) / FILE
    if not path.is_file():
        raise CannotGrade(f"{folder} holds no {FILE}; grade the submission into that folder first")
    data = json.loads(path.read_text())
    return ScoredResult(
        result=GradingResult.from_dict(data["result"]),
        rubric=rubric_io.from_dict(data["rubric"]),
        criteria=[CriterionScore(**c) for c in data["criteria"]],
        unscored=[CriterionScore(**c) for c in data["unscored"]],
        late=Late(**data["late"]),
        scored_at=data["scored_at"],
        warnings=data.get("warnings", []),
    )
