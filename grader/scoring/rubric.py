"""Rubrics: YAML files that say what each check is worth, who may see it, and the late policy.

A rubric is validated against a JSON Schema, then against rules a schema cannot express
(unique checks, a deadline with a time zone, floor below target). Every problem is reported
at once, each naming the file, the line and the key at fault, so an instructor fixes a broken
rubric in one pass instead of one error per run.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import yaml

from grader.checks import known_ids
from grader.dates import EXAMPLE, parse_moment
from grader.errors import CannotGrade
from grader.paths import PROJECT_ROOT
from grader.scoring.rubric_schema import duplicate_keys, line_of, node_at, schema_problems

RUBRICS_DIR = PROJECT_ROOT / "rubrics"
DEFAULT = "default"


class RubricError(CannotGrade):
    """Every problem found in one rubric file, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid rubric:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class PartialCredit:
    rule: str
    floor: float | str  # a number, or "majority_baseline" (taken from the calibration)
    target: float | str  # a number, or "threshold" (the calibrated pass threshold)


@dataclass(frozen=True)
class Criterion:
    check: str
    points: float
    required: bool = True
    visibility: str = "visible"
    name: str | None = None
    partial_credit: PartialCredit | None = None


@dataclass(frozen=True)
class LatePolicy:
    deadline: datetime
    penalty_per_day_percent: float
    cap_percent: float = 100.0
    grace_minutes: float = 0.0


@dataclass(frozen=True)
class Rubric:
    name: str
    source: str
    criteria: tuple[Criterion, ...]
    late_policy: LatePolicy | None = None
    grades_published: bool = False
    description: str = ""
    leaderboard: tuple[str, ...] = ()  # measurements shown on Gradescope's leaderboard, e.g. test_accuracy

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.late_policy:
            data["late_policy"]["deadline"] = self.late_policy.deadline.isoformat()
        return data


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: a deadline stays text until we parse it ourselves,
    so the schema sees what the instructor typed."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def resolve(name_or_path: str | Path | None) -> Path:
    """A rubric named like `default` is rubrics/default.yaml; anything else is a path."""
    text = str(name_or_path or DEFAULT)
    path = Path(text)
    if path.suffix not in (".yaml", ".yml") and "/" not in text:
        path = RUBRICS_DIR / f"{text}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in RUBRICS_DIR.glob("*.yaml")))
        raise CannotGrade(f"rubric {text!r} not found (looked for {path}); give a path or one of: {known}")
    return path


def load(name_or_path: str | Path | None = None) -> Rubric:
    path = resolve(name_or_path)
    shown = _shown(path)
    text = path.read_text(encoding="utf-8")
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise RubricError([f"{shown}:{line}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    if node is None:
        raise RubricError([f"{shown}:1: the file is empty; a rubric needs `name` and `criteria`"])
    problems = duplicate_keys(node, shown) + schema_problems(data, node, shown)
    if not problems:
        problems = _rule_problems(data, node, shown)
    if problems:
        raise RubricError(problems)
    return _build(data, shown)


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def _rule_problems(data: dict, root: yaml.Node, shown: str) -> list[str]:
    problems = []
    first_line: dict[str, int] = {}
    for index, criterion in enumerate(data["criteria"]):
        node, _ = node_at(root, ["criteria", index, "check"])
        check = criterion["check"]
        if check not in known_ids():
            hint = difflib.get_close_matches(check, known_ids(), n=1)
            suggestion = f"did you mean `{hint[0]}`? " if hint else ""
            problems.append(
                f"{shown}:{line_of(node)}: criteria[{index}].check: no check `{check}`; {suggestion}the grader's checks: "
                f"{', '.join(known_ids())}"
            )
        if check in first_line:
            problems.append(
                f"{shown}:{line_of(node)}: criteria[{index}].check: `{check}` is already scored on line {first_line[check]}; "
                "one criterion per check"
            )
        first_line.setdefault(check, line_of(node))
        partial = criterion.get("partial_credit")
        if partial and all(isinstance(partial[k], (int, float)) for k in ("floor", "target")) and partial["floor"] >= partial["target"]:
            node, _ = node_at(root, ["criteria", index, "partial_credit", "floor"])
            problems.append(
                f"{shown}:{line_of(node)}: criteria[{index}].partial_credit.floor: {partial['floor']} must be below target "
                f"{partial['target']}"
            )
    late = data.get("late_policy")
    if late and parse_moment(late["deadline"]) is None:
        node, _ = node_at(root, ["late_policy", "deadline"])
        problems.append(
            f"{shown}:{line_of(node)}: late_policy.deadline: {late['deadline']!r} is not an ISO 8601 time with a time zone; "
            f"write for example {EXAMPLE}"
        )
    return sorted(problems, key=lambda p: int(p[len(shown) + 1 :].split(":", 1)[0]))


def _build(data: dict, shown: str) -> Rubric:
    criteria = []
    for raw in data["criteria"]:
        partial = raw.get("partial_credit")
        criteria.append(
            Criterion(
                check=raw["check"],
                points=float(raw["points"]),
                required=bool(raw.get("required", True)),
                visibility=raw.get("visibility", "visible"),
                name=raw.get("name"),
                partial_credit=PartialCredit(**partial) if partial else None,
            )
        )
    late = data.get("late_policy")
    policy = None
    if late:
        policy = LatePolicy(
            deadline=parse_moment(late["deadline"]),
            penalty_per_day_percent=float(late["penalty_per_day_percent"]),
            cap_percent=float(late.get("cap_percent", 100)),
            grace_minutes=float(late.get("grace_minutes", 0)),
        )
    return Rubric(
        data["name"],
        shown,
        tuple(criteria),
        policy,
        bool(data.get("grades_published", False)),
        data.get("description", ""),
        tuple(data.get("leaderboard", ())),
    )


def from_dict(data: dict) -> Rubric:
    """Rebuild a rubric stored inside scored.json (already validated when it was loaded)."""
    late = data.get("late_policy")
    policy = LatePolicy(**{**late, "deadline": datetime.fromisoformat(late["deadline"])}) if late else None
    criteria = tuple(
        Criterion(**{**c, "partial_credit": PartialCredit(**c["partial_credit"]) if c.get("partial_credit") else None})
        for c in data["criteria"]
    )
    return Rubric(
        data["name"],
        data["source"],
        criteria,
        policy,
        data.get("grades_published", False),
        data.get("description", ""),
        tuple(data.get("leaderboard", ())),
    )
