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

import jsonschema
import yaml

from .errors import CannotGrade
from .paths import PROJECT_ROOT

RUBRICS_DIR = PROJECT_ROOT / "rubrics"
DEFAULT = "default"

# From least to most restrictive; a criterion is shown as the stricter of its rubric entry and its check.
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
FLOORS = ("majority_baseline",)
TARGETS = ("threshold",)

_PARTIAL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rule", "floor", "target"],
    "properties": {
        "rule": {"enum": ["linear"]},
        "floor": {"anyOf": [{"type": "number"}, {"enum": list(FLOORS)}], "x-expect": "a number or majority_baseline"},
        "target": {"anyOf": [{"type": "number"}, {"enum": list(TARGETS)}], "x-expect": "a number or threshold"},
    },
}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "criteria"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "grades_published": {"type": "boolean"},
        "late_policy": {
            "type": "object",
            "additionalProperties": False,
            "required": ["deadline", "penalty_per_day_percent"],
            "properties": {
                "deadline": {"type": "string"},
                "penalty_per_day_percent": {"type": "number", "minimum": 0, "maximum": 100},
                "cap_percent": {"type": "number", "minimum": 0, "maximum": 100},
                "grace_minutes": {"type": "number", "minimum": 0},
            },
        },
        "criteria": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["check", "points"],
                "properties": {
                    "check": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "x-expect": "a check id such as ia3_trained (lower case, digits, _)"},
                    "name": {"type": "string", "minLength": 1},
                    "points": {"type": "number", "minimum": 0},
                    "required": {"type": "boolean"},
                    "visibility": {"enum": list(VISIBILITIES)},
                    "partial_credit": _PARTIAL,
                },
            },
        },
    },
}


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
    problems = _duplicate_keys(node, shown) + _schema_problems(data, node, shown)
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


def _key_path(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _node_at(root: yaml.Node, path) -> tuple[yaml.Node, yaml.Node | None]:
    """The value node at a key path, and the key node that names it (None for list items)."""
    node, key_node = root, None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == part]
            if not match:
                break
            key_node, node = match[-1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            key_node, node = None, node.value[part]
        else:
            break
    return node, key_node


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def _duplicate_keys(node: yaml.Node, shown: str, path=()) -> list[str]:
    """YAML keeps the last of two equal keys silently; an instructor means one of them."""
    problems = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if key.value in seen:
                problems.append(f"{shown}:{_line(key)}: {_key_path((*path, key.value))}: key given twice (first on line {seen[key.value]}); keep one")
            seen.setdefault(key.value, _line(key))
            problems += _duplicate_keys(value, shown, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _duplicate_keys(item, shown, (*path, index))
    return problems


def _schema_problems(data, root: yaml.Node, shown: str) -> list[str]:
    found = []
    for error in jsonschema.Draft202012Validator(SCHEMA).iter_errors(data):
        path = list(error.absolute_path)
        node, key_node = _node_at(root, path)
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            for extra in sorted(set(error.instance) - set(allowed)):
                extra_key = next((k for k, _v in node.value if k.value == extra), None) if isinstance(node, yaml.MappingNode) else None
                hint = difflib.get_close_matches(str(extra), allowed, n=1)
                suggestion = f"did you mean `{hint[0]}`? " if hint else ""
                found.append((_line(extra_key or node), f"{_key_path([*path, extra])}: unknown key; {suggestion}allowed keys: {', '.join(allowed)}"))
            continue
        line = _line(key_node or node)
        if error.validator == "required":
            missing = error.message.split("'")[1]
            found.append((_line(node), f"{_key_path([*path, missing])}: missing; add `{missing}:`"))
        elif error.validator == "enum":
            found.append((line, f"{_key_path(path)}: {error.instance!r} is not allowed; use one of: {', '.join(map(str, error.validator_value))}"))
        elif error.validator == "type":
            found.append((line, f"{_key_path(path)}: expected {_a(error.validator_value)}, found {error.instance!r}"))
        elif error.validator in ("minimum", "maximum"):
            bound = ">=" if error.validator == "minimum" else "<="
            found.append((line, f"{_key_path(path)}: must be {bound} {error.validator_value:g}, found {error.instance!r}"))
        elif error.validator in ("anyOf", "pattern") and "x-expect" in error.schema:
            found.append((line, f"{_key_path(path)}: expected {error.schema['x-expect']}, found {error.instance!r}"))
        elif error.validator == "minItems":
            found.append((line, f"{_key_path(path)}: needs at least {error.validator_value} entry"))
        else:
            found.append((line, f"{_key_path(path)}: {error.message}"))
    return [f"{shown}:{line}: {message}" for line, message in sorted(set(found))]


def _a(json_type: str) -> str:
    return {"object": "a mapping (key: value)", "array": "a list (- item)", "number": "a number", "string": "text", "boolean": "true or false"}.get(json_type, json_type)


def _parse_deadline(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _rule_problems(data: dict, root: yaml.Node, shown: str) -> list[str]:
    problems = []
    first_line: dict[str, int] = {}
    for index, criterion in enumerate(data["criteria"]):
        node, _ = _node_at(root, ["criteria", index, "check"])
        check = criterion["check"]
        if check in first_line:
            problems.append(f"{shown}:{_line(node)}: criteria[{index}].check: `{check}` is already scored on line {first_line[check]}; one criterion per check")
        first_line.setdefault(check, _line(node))
        partial = criterion.get("partial_credit")
        if partial and all(isinstance(partial[k], (int, float)) for k in ("floor", "target")) and partial["floor"] >= partial["target"]:
            node, _ = _node_at(root, ["criteria", index, "partial_credit", "floor"])
            problems.append(f"{shown}:{_line(node)}: criteria[{index}].partial_credit.floor: {partial['floor']} must be below target {partial['target']}")
    late = data.get("late_policy")
    if late and _parse_deadline(late["deadline"]) is None:
        node, _ = _node_at(root, ["late_policy", "deadline"])
        problems.append(
            f"{shown}:{_line(node)}: late_policy.deadline: {late['deadline']!r} is not an ISO 8601 time with a time zone; "
            "write for example 2026-12-01T23:59:00+08:00"
        )
    return sorted(problems, key=lambda p: int(p[len(shown) + 1:].split(":", 1)[0]))


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
            deadline=_parse_deadline(late["deadline"]),
            penalty_per_day_percent=float(late["penalty_per_day_percent"]),
            cap_percent=float(late.get("cap_percent", 100)),
            grace_minutes=float(late.get("grace_minutes", 0)),
        )
    return Rubric(data["name"], shown, tuple(criteria), policy, bool(data.get("grades_published", False)), data.get("description", ""))


def from_dict(data: dict) -> Rubric:
    """Rebuild a rubric stored inside scored.json (already validated when it was loaded)."""
    late = data.get("late_policy")
    policy = LatePolicy(**{**late, "deadline": datetime.fromisoformat(late["deadline"])}) if late else None
    criteria = tuple(
        Criterion(**{**c, "partial_credit": PartialCredit(**c["partial_credit"]) if c.get("partial_credit") else None}) for c in data["criteria"]
    )
    return Rubric(data["name"], data["source"], criteria, policy, data.get("grades_published", False), data.get("description", ""))
