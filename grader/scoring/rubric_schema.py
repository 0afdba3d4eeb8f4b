"""The rubric file format: its JSON Schema, and the problems a YAML rubric can have, each
reported with the line of the key at fault (YAML nodes keep their marks; plain data does not)."""

from __future__ import annotations

import difflib

import jsonschema
import yaml

# From least to most restrictive; a criterion is shown as the stricter of its rubric entry and its check.
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
FLOORS = ("majority_baseline",)
TARGETS = ("threshold",)
# Measurements a rubric may put on Gradescope's leaderboard (which every student of the course sees).
LEADERBOARD_COLUMNS = ("test_accuracy", "test_f1", "validation_accuracy", "validation_f1")

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
        "leaderboard": {"type": "array", "uniqueItems": True, "items": {"enum": list(LEADERBOARD_COLUMNS)}},
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
                    "check": {
                        "type": "string",
                        "pattern": "^[a-z][a-z0-9_]*$",
                        "x-expect": "a check id such as ia3_trained (lower case, digits, _)",
                    },
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


def key_path(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def node_at(root: yaml.Node, path) -> tuple[yaml.Node, yaml.Node | None]:
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


def line_of(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def duplicate_keys(node: yaml.Node, shown: str, path=()) -> list[str]:
    """YAML keeps the last of two equal keys silently; an instructor means one of them."""
    problems = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if key.value in seen:
                problems.append(
                    f"{shown}:{line_of(key)}: {key_path((*path, key.value))}: key given twice (first on line {seen[key.value]}); keep one"
                )
            seen.setdefault(key.value, line_of(key))
            problems += duplicate_keys(value, shown, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += duplicate_keys(item, shown, (*path, index))
    return problems


def schema_problems(data, root: yaml.Node, shown: str) -> list[str]:
    found = []
    for error in jsonschema.Draft202012Validator(SCHEMA).iter_errors(data):
        path = list(error.absolute_path)
        node, key_node = node_at(root, path)
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            for extra in sorted(set(error.instance) - set(allowed)):
                extra_key = next((k for k, _v in node.value if k.value == extra), None) if isinstance(node, yaml.MappingNode) else None
                hint = difflib.get_close_matches(str(extra), allowed, n=1)
                suggestion = f"did you mean `{hint[0]}`? " if hint else ""
                found.append(
                    (line_of(extra_key or node), f"{key_path([*path, extra])}: unknown key; {suggestion}allowed keys: {', '.join(allowed)}")
                )
            continue
        line = line_of(key_node or node)
        if error.validator == "required":
            missing = error.message.split("'")[1]
            found.append((line_of(node), f"{key_path([*path, missing])}: missing; add `{missing}:`"))
        elif error.validator == "enum":
            found.append(
                (line, f"{key_path(path)}: {error.instance!r} is not allowed; use one of: {', '.join(map(str, error.validator_value))}")
            )
        elif error.validator == "type":
            found.append((line, f"{key_path(path)}: expected {_a(error.validator_value)}, found {error.instance!r}"))
        elif error.validator in ("minimum", "maximum"):
            bound = ">=" if error.validator == "minimum" else "<="
            found.append((line, f"{key_path(path)}: must be {bound} {error.validator_value:g}, found {error.instance!r}"))
        elif error.validator in ("anyOf", "pattern") and "x-expect" in error.schema:
            found.append((line, f"{key_path(path)}: expected {error.schema['x-expect']}, found {error.instance!r}"))
        elif error.validator == "minItems":
            found.append((line, f"{key_path(path)}: needs at least {error.validator_value} entry"))
        else:
            found.append((line, f"{key_path(path)}: {error.message}"))
    return [f"{shown}:{line}: {message}" for line, message in sorted(set(found))]


def _a(json_type: str) -> str:
    return {
        "object": "a mapping (key: value)",
        "array": "a list (- item)",
        "number": "a number",
        "string": "text",
        "boolean": "true or false",
    }.get(json_type, json_type)
