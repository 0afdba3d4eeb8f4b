"""Group adapter tensors by what they are in the model, for the report's parameter table:
IA3 key, value and feed-forward vectors, the classifier head, and the frozen base."""

from __future__ import annotations

from grader.course.calibration import Structure
from grader.evidence.tensors import size

GROUPS = (
    ("IA3 key vectors", lambda n: n.endswith(".key.ia3_l")),
    ("IA3 value vectors", lambda n: n.endswith(".value.ia3_l")),
    ("IA3 feed-forward vectors", lambda n: n.endswith(".dense.ia3_l")),
    ("other IA3 vectors", lambda n: n.endswith("ia3_l")),
    ("classifier head", lambda n: ".classifier." in f".{n}"),
    ("other saved tensors", lambda n: True),
)


def _group_of(name: str) -> str:
    return next(label for label, match in GROUPS if match(name))


def _tally(shapes: dict[str, list[int]]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for name, shape in shapes.items():
        tensors, params = found.get(_group_of(name), (0, 0))
        found[_group_of(name)] = (tensors + 1, params + size(shape))
    return found


def groups(structure: Structure, measured_shapes: dict[str, list[int]] | None) -> list[dict]:
    """Rows of expected (the reference adapter) and measured (the saved adapter) counts."""
    expected, measured = _tally(structure.adapter_tensors), _tally(measured_shapes or {})
    rows = []
    for label, _match in GROUPS:
        if label in expected or label in measured:
            e, m = expected.get(label, (0, 0)), measured.get(label, (0, 0))
            rows.append(
                {
                    "group": label,
                    "expected_tensors": e[0],
                    "expected_parameters": e[1],
                    "measured_tensors": m[0] if measured_shapes is not None else None,
                    "measured_parameters": m[1] if measured_shapes is not None else None,
                }
            )
    frozen = structure.all_parameters - structure.trainable_parameters
    rows.append(
        {
            "group": "frozen base (not saved in the adapter)",
            "expected_tensors": None,
            "expected_parameters": frozen,
            "measured_tensors": None,
            "measured_parameters": None,
        }
    )
    return rows
