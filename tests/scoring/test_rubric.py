"""Rubric files: the shipped default loads; a broken rubric is rejected with every problem
named by file, line and key."""

import pytest

from grader.checks import known_ids
from grader.errors import CannotGrade
from grader.scoring import rubric

BROKEN = """\
name: Broken rubric
late_policy:
  deadline: 2026-12-01 23:59
  penalty_per_day_percent: 10
criteria:
  - check: run
    pointz: 10
  - check: adapter_type
    points: three
  - check: accuracy
    points: 10
    visibility: secret
    partial_credit: {rule: linear, floor: 0.9, target: 0.8}
  - check: run
    points: 5
  - points: 4
  - check: f1
    points: -1
    required: true
    required: false
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing needle, so expectations follow the text."""
    hits = [number for number, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def problems(tmp_path, text: str) -> list[str]:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(rubric.RubricError) as caught:
        rubric.load(path)
    assert all(p.startswith(f"{path}:") for p in caught.value.problems), caught.value.problems
    return [p[len(str(path)) + 1 :] for p in caught.value.problems]


def test_default_rubric_loads_and_scores_every_check():
    loaded = rubric.load()
    assert loaded.source == "rubrics/default.yaml"
    checks = {c.check for c in loaded.criteria}
    assert {
        "run",
        "adapter_type",
        "ia3_modules",
        "trainable_parameters",
        "ia3_trained",
        "accuracy",
        "f1",
        "budget",
        "frozen_base",
        "trainable_set",
        "collapse",
        "test_metrics",
        "claimed_metrics",
    } <= checks
    hidden = {c.check for c in loaded.criteria if c.visibility == "hidden"}
    assert hidden == {"test_metrics", "reference_copy", "claimed_metrics", "validation_not_trained"}
    assert all(c.partial_credit for c in loaded.criteria if c.check in ("accuracy", "f1"))


def test_schema_errors_name_file_line_and_key(tmp_path):
    found = problems(tmp_path, BROKEN)
    expected = [
        (line_of(BROKEN, "pointz"), "criteria[0].pointz: unknown key; did you mean `points`?"),
        (line_of(BROKEN, "- check: run"), "criteria[0].points: missing; add `points:`"),
        (line_of(BROKEN, "points: three"), "criteria[1].points: expected a number, found 'three'"),
        (
            line_of(BROKEN, "visibility: secret"),
            "criteria[2].visibility: 'secret' is not allowed; use one of: visible, after_due_date, after_published, hidden",
        ),
        (line_of(BROKEN, "- points: 4"), "criteria[4].check: missing; add `check:`"),
        (line_of(BROKEN, "points: -1"), "criteria[5].points: must be >= 0, found -1"),
        (line_of(BROKEN, "required: false"), "criteria[5].required: key given twice (first on line"),
    ]
    for line, message in expected:
        assert any(p.startswith(f"{line}: {message}") for p in found), f"{line}: {message}\nnot in\n" + "\n".join(found)
    assert len(found) == len(expected), found


def test_rules_beyond_the_schema_are_checked_once_the_schema_holds(tmp_path):
    text = (
        BROKEN.replace("    pointz: 10\n", "    points: 10\n")
        .replace("points: three", "points: 3")
        .replace("visibility: secret", "visibility: hidden")
    )
    text = text.replace("  - points: 4\n", "").replace("points: -1", "points: 1").replace("    required: true\n", "")
    found = problems(tmp_path, text)
    assert found == [
        f"{line_of(text, 'deadline:')}: late_policy.deadline: '2026-12-01 23:59' is not an ISO 8601 time with a time zone; "
        "write for example 2026-12-01T23:59:00+08:00",
        f"{line_of(text, 'partial_credit')}: criteria[2].partial_credit.floor: 0.9 must be below target 0.8",
        f"{line_of(text, '- check: run', 2)}: criteria[3].check: `run` is already scored on line "
        f"{line_of(text, '- check: run')}; one criterion per check",
    ]


def test_yaml_syntax_error_names_the_line(tmp_path):
    text = "name: x\ncriteria:\n  - check: run\n    points: [10\n"
    found = problems(tmp_path, text)
    assert len(found) == 1 and "not valid YAML" in found[0]
    assert int(found[0].split(":")[0]) >= line_of(text, "points: [10")


def test_empty_and_wrongly_shaped_rubrics(tmp_path):
    assert problems(tmp_path, "") == ["1: the file is empty; a rubric needs `name` and `criteria`"]
    found = problems(tmp_path, "- run\n- budget\n")
    assert found == ["1: (top level): expected a mapping (key: value), found ['run', 'budget']"]


def test_unknown_rubric_name_lists_the_shipped_ones():
    with pytest.raises(CannotGrade, match="rubric 'no-such-rubric' not found .* one of: .*default"):
        rubric.load("no-such-rubric")


def test_valid_rubric_round_trips_through_its_stored_form(tmp_path):
    path = tmp_path / "late.yaml"
    path.write_text(
        "name: Late\ngrades_published: true\nlate_policy: "
        "{deadline: '2026-12-01T23:59:00+08:00', penalty_per_day_percent: 10, cap_percent: 30}\n"
        "criteria:\n  - "
        "{check: accuracy, points: 4, visibility: after_due_date, partial_credit: {rule: linear, floor: majority_baseline, target: 0.9}}\n"
    )
    loaded = rubric.load(path)
    assert loaded.late_policy.deadline.utcoffset().total_seconds() == 8 * 3600
    assert loaded.late_policy.cap_percent == 30 and loaded.grades_published
    assert rubric.from_dict(loaded.to_dict()) == loaded


def test_a_criterion_naming_no_check_is_an_error_with_its_line(tmp_path):
    text = "name: typo\ncriteria:\n  - {check: run, points: 5}\n  - {check: budgett, points: 5}\n"
    assert problems(tmp_path, text) == [
        "4: criteria[1].check: no check `budgett`; did you mean `budget`? the grader's checks: " + ", ".join(known_ids()),
    ]
