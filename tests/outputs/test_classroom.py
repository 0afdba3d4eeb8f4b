"""The GitHub Classroom runners read as the grading reporter reads them (tests/outputs/classroom_reporter.py):
the points in the Actions log and the points sent to Classroom equal the grader's score and
maximum, the job fails exactly when a required criterion failed, every failure shows its reason,
and withheld criteria stay withheld. Results are the `good` and `crash` examples graded for real on
the tiny profile, some with a check changed to reach a case (partial credit, an error)."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from grader.checks.judgement import ERROR, FAILED, PASSED
from grader.outputs import classroom, files, markdown
from grader.scoring import rubric
from grader.scoring import score as scoring
from tests.helpers import judged, rubric_file
from tests.outputs.classroom_reporter import decode_output, read

DEADLINE = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)


def reporter_reading(scored, tmp_path, name="out"):
    folder = tmp_path / name
    files.write_all(scored, folder)
    return read(decode_output((folder / files.CLASSROOM).read_text()))


def assert_reads_as_the_grader(scored, reading):
    assert reading.table_total == pytest.approx(scored.score, abs=1e-9), reading.log
    assert reading.table_max == pytest.approx(scored.max_score, abs=1e-9)
    assert reading.points == pytest.approx((scored.score, scored.max_score), abs=1e-9)
    assert (reading.failed is None) == scored.passed
    log = "\n".join(reading.log)
    for c in scored.criteria:
        if scored.released(c) and c.status != PASSED and c.max_score > 0:
            assert " ".join(c.message.split())[:200] in log, f"{c.check}: its reason is not in the log"


def test_a_pass_and_a_crash_read_as_their_scores(graded, tiny, tmp_path):
    """On tiny the default rubric is worth 75 (the metrics are informational); a single runner read 68.75 for 75/75."""
    good = scoring.score(judged(graded["good"], tiny), rubric.load())
    crash = scoring.score(judged(graded["crash"], tiny), rubric.load())
    assert (good.score, good.max_score, good.passed) == (75, 75, True)
    assert crash.max_score == 75 and crash.score < 75 and not crash.passed
    for name, scored in (("good", good), ("crash", crash)):
        reading = reporter_reading(scored, tmp_path, name)
        assert_reads_as_the_grader(scored, reading)
    runners = classroom.runners(crash)
    assert list(runners) == classroom.layout(rubric.load()).ids()
    assert runners["run"]["status"] == "fail" and "exited with status 1" in runners["run"]["tests"][0]["name"]


def test_partial_credit_and_a_late_penalty_read_as_the_score(graded, tiny, tmp_path):
    result = judged(graded["good"], tiny)
    accuracy = next(c for c in result.checks if c.id == "accuracy")
    measured = 0.7
    result.checks[result.checks.index(accuracy)] = dataclasses.replace(
        accuracy, status=FAILED, informational=False, measured=measured, message=f"accuracy {measured} is below 0.8"
    )
    scored = scoring.score(
        result,
        rubric_file(
            tmp_path,
            f"name: partial\nlate_policy: {{deadline: '{DEADLINE.isoformat()}', penalty_per_day_percent: 15}}\ncriteria:\n"
            "  - {check: run, points: 7}\n  - {check: adapter_type, points: 3.5}\n"
            "  - {check: accuracy, points: 10, partial_credit: {rule: linear, floor: 0.5, target: 0.8}}\n",
        ),
        (DEADLINE + timedelta(hours=5)).isoformat(),
        "test",
    )
    assert scored.late.penalty_percent == 15 and 0 < scored.criteria[2].score < 10
    reading = reporter_reading(scored, tmp_path)
    assert_reads_as_the_grader(scored, reading)
    log = "\n".join(reading.log)
    assert "by partial credit" in log and "Late penalty" in log and "points not earned" in log


def test_withheld_criteria_count_without_being_named(graded, tiny, tmp_path):
    scored = scoring.score(
        judged(graded["crash"], tiny),
        rubric_file(
            tmp_path,
            "name: withheld\ncriteria:\n  - {check: run, points: 5}\n  - {check: ia3_trained, points: 5, visibility: hidden}\n"
            "  - {check: budget, points: 2, visibility: after_due_date}\n",
        ),
    )
    reading = reporter_reading(scored, tmp_path)
    assert_reads_as_the_grader(scored, reading)
    log = "\n".join(reading.log)
    hidden = [c for c in scored.criteria if not scored.released(c)]
    assert hidden and not any(c.name in log or c.message in log for c in hidden)
    assert "Withheld criteria (2)" in log


def test_a_criterion_the_grader_could_not_judge_shows_its_message_and_errors(graded, tiny, tmp_path):
    result = judged(graded["good"], tiny)
    frozen = next(c for c in result.checks if c.id == "frozen_base")
    result.checks[result.checks.index(frozen)] = dataclasses.replace(frozen, status=ERROR, message="the probe record could not be read")
    scored = scoring.score(result, rubric.load())
    reading = reporter_reading(scored, tmp_path)
    assert_reads_as_the_grader(scored, reading)
    assert reading.failed == "Some tests errored."
    assert any(line.startswith("Error: ") and "the probe record could not be read" in line for line in reading.log)


def test_not_graded_gives_every_runner_an_error_worth_nothing(tmp_path):
    default = rubric.load()
    results = classroom.not_graded(default, "the grader stopped: no model")
    assert list(results) == classroom.layout(default).ids()
    reading = read(decode_output(classroom.output_lines(results)))
    assert reading.points == (0, sum(c.points for c in default.criteria))
    assert reading.failed == "Some tests errored." and "Error: the grader stopped: no model" in reading.log


def test_runner_ids_are_letters_and_digits_and_names_one_line(graded, tiny):
    assert classroom.runner_id("trainable_parameters") == "trainableParameters"
    result = judged(graded["crash"], tiny)
    run = next(c for c in result.checks if c.id == "run")
    result.checks[result.checks.index(run)] = dataclasses.replace(run, message="boom\n::error::forged\x1b[31m " + "x" * 900)
    for rid, data in classroom.runners(scoring.score(result, rubric.load())).items():
        assert rid.isalnum()
        for test in data["tests"]:
            assert "\n" not in test["name"] and len(test["name"]) <= classroom.NAME_LIMIT
    encoded = classroom.output_lines(classroom.runners(scoring.score(result, rubric.load())))
    assert all(json.loads(base64.b64decode(line.split("=", 1)[1])) for line in encoded.splitlines())


def test_job_summary_lists_failures_first_and_escapes_the_students_text(graded, tiny):
    result = judged(graded["crash"], tiny)
    run = next(c for c in result.checks if c.id == "run")
    result.checks[result.checks.index(run)] = dataclasses.replace(
        run, message="ValueError: a|b <img src=x onerror=alert(1)> [click](http://evil.example)\n## heading"
    )
    scored = scoring.score(result, rubric.load())
    text = markdown.render(scored)
    assert text.startswith("## ❌ Self-check failed: 0 of 75 points")
    rows = [line for line in text.splitlines() if line.startswith("| ")][1:]
    assert all(line.count(" | ") == 3 for line in rows), "a cell broke the table"
    assert "<img" not in text and "&lt;img" in text and "\n## heading" not in text and "\\#\\# heading" in text
    assert "a\\|b" in text and "\\[click\\](http" in text  # escaped: GitHub shows the brackets, no link
    first_passed = next((i for i, line in enumerate(rows) if "✅" in line or "ℹ️" in line or "| withheld |" in line), len(rows))
    assert first_passed and all("❌" in line or "➖" in line or "↳ follows" in line for line in rows[:first_passed])
    assert not any(c.name in text for c in scored.criteria if not scored.released(c))
