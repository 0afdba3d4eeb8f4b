"""Each serialiser checked against its format (Gradescope and Classroom JSON Schemas, JUnit read
by junitparser, CSV by the csv module), and visibility: student-facing outputs never hold hidden
details or held-out test numbers, instructor outputs do."""

import base64
import copy
import csv
import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from grader.checks.judgement import ERROR, PASSED, Check
from grader.outputs import classroom, files, gradebook
from grader.scoring import rubric
from grader.scoring import score as scoring
from tests.helpers import judged

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
GRADESCOPE = {  # https://gradescope-autograders.readthedocs.io/en/latest/specs/ (results.json)
    "type": "object",
    "required": ["tests"],
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_output_format": {"type": "string"},
        "test_name_format": {"type": "string"},
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "leaderboard": {"type": "array"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "score", "max_score", "status"],
                "additionalProperties": False,
                "properties": {
                    "score": {"type": "number"},
                    "max_score": {"type": "number"},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string"},
                    "name_format": {"type": "string"},
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "output_format": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": VISIBILITY,
                    "extra_data": {"type": "object"},
                },
            },
        },
    },
}
CLASSROOM = {  # what the autograding grading reporter reads from <RUNNER>_RESULTS
    "type": "object",
    "required": ["version", "status", "max_score", "tests"],
    "properties": {
        "version": {"const": 3},
        "status": {"enum": ["pass", "fail", "error"]},
        "max_score": {"type": "number"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "status", "message", "score"],
                "properties": {
                    "name": {"type": "string"},
                    "status": {"enum": ["pass", "fail", "error"]},
                    "message": {"type": "string"},
                    "score": {"type": "number"},
                    "duration": {"type": "number"},
                    "test_code": {"type": "string"},
                    "filename": {"type": "string"},
                    "line_no": {"type": "integer"},
                },
            },
        },
    },
}
DEADLINE = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
TEST_ACCURACY, TEST_F1 = 0.71739, 0.80417  # a held-out result a later grader stage would add
HIDDEN_TEXT = ("Held-out test", "vectors changed by training in this run", "IA3 vectors were trained")


def hidden_shown(text: str) -> list[str]:
    """The hidden details a text contains: the test numbers in any printed form, and the texts."""
    numbers = [f"{v:.4f}" if f"{v:.4f}" in text else repr(v) for v in (TEST_ACCURACY, TEST_F1) if f"{v:.4f}" in text or repr(v) in text]
    return numbers + [marker for marker in HIDDEN_TEXT if marker in text]


def write(scored, folder):
    files.write_all(scored, folder)
    return folder


def test_gradescope_results_match_the_schema(graded, tiny, tmp_path):
    for name in ("good", "crash"):
        scored = scoring.score(judged(graded[name], tiny), rubric.load())
        data = json.loads((write(scored, tmp_path / name) / "results.json").read_text())
        jsonschema.validate(data, GRADESCOPE)
        for kept in data["extra_data"]["instructor_only"]["tests"]:
            jsonschema.validate(kept, GRADESCOPE["properties"]["tests"]["items"])
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
        assert data["max_score"] == pytest.approx(sum(t["max_score"] for t in data["tests"]))
        by_id = {t["tags"][0]: t for t in data["tests"] + data["extra_data"]["instructor_only"]["tests"]}
        for c in scored.criteria:
            # red only where the criterion cost points
            assert by_id[c.check]["status"] == ("failed" if c.score < c.max_score else "passed"), c.check
            assert by_id[c.check]["visibility"] == c.visibility
    assert json.loads((tmp_path / "crash" / "results.json").read_text())["extra_data"]["verdict"] == "failed"


def test_classroom_result_is_base64_json_version_3(graded, tiny, tmp_path):
    policy = f"late_policy: {{deadline: '{DEADLINE.isoformat()}', penalty_per_day_percent: 20}}\n"
    path = tmp_path / "r.yaml"
    path.write_text(
        f"name: late\n{policy}criteria:\n  - {{check: run, points: 6}}\n  - {{check: budget, points: 4}}\n  - "
        f"{{check: adapter_type, points: 5}}\n"
    )
    for name, status in (("good", "pass"), ("crash", "fail")):
        scored = scoring.score(judged(graded[name], tiny), rubric.load(path), (DEADLINE + timedelta(hours=30)).isoformat(), "test")
        lines = (write(scored, tmp_path / name) / "classroom-result.txt").read_text().splitlines()
        runners = {rid: json.loads(base64.b64decode(value, validate=True)) for rid, _, value in (x.partition("=") for x in lines)}
        for data in runners.values():
            jsonschema.validate(data, CLASSROOM)
        assert list(runners) == ["run", "budget", "adapterType", "unearned"]
        assert ("fail" if any(r["status"] == "fail" for r in runners.values()) else "pass") == status
        assert sum(r["max_score"] for r in runners.values()) == 15
        assert sum(t["score"] for r in runners.values() for t in r["tests"]) == pytest.approx(scored.score)  # the reporter sums test scores
        assert scored.late.penalty_percent == 40
        # a penalty line where points were earned (the crash earns none: its budget is not judged)
        assert any(t["name"].startswith("Late penalty") for t in runners["unearned"]["tests"]) == (scored.raw_score > 0)


def test_classroom_status_error_when_a_required_check_could_not_be_judged(graded, tiny):
    result = judged(graded["good"], tiny)
    result.checks.append(Check("frozen_base", "Base weights stayed frozen", ERROR, "the probe record could not be read"))
    scored = scoring.score(result, rubric.load())
    assert classroom.runners(scored)["frozenBase"]["status"] == "error"


def test_junit_read_by_a_junit_reader(graded, tiny, tmp_path):
    scored = scoring.score(judged(graded["crash"], tiny), rubric.load())
    xml = JUnitXml.fromfile(str(write(scored, tmp_path) / "junit.xml"))
    suites = list(xml)
    assert len(suites) == 1
    cases = {case.name: case for case in suites[0]}
    released = [c for c in scored.criteria + scored.unscored if scored.released(c)]
    withheld = [c for c in scored.criteria if not scored.released(c)]
    assert len(cases) == len(released) + (1 if withheld else 0)
    for c in released:
        kinds = {type(r) for r in cases[c.name].result}
        if c.status == ERROR or (c.absent and c.max_score):
            expected = {Error}
        elif c.score < c.max_score:  # cost points: the student's failure, whatever came before it
            expected = {Failure}
        elif c.status == PASSED:
            expected = set()
        else:  # costs nothing: informational, or not run with no points at stake
            expected = {Skipped}
        assert kinds == expected, (c.name, c.status, kinds)
        for result in cases[c.name].result:
            assert c.message in result.message and f"{c.score:g}/{c.max_score:g}" in result.message
    lost = [c for c in released if c.score < c.max_score and c.status != ERROR]
    assert lost and suites[0].failures == len(lost) + (1 if withheld and not scored.withheld_passed() else 0)
    assert suites[0].tests == len(cases) and suites[0].skipped == sum(1 for c in released if c.score == c.max_score and c.status != PASSED)
    props = {p.name: p.value for p in suites[0].properties()}
    assert props["verdict"] == "failed" and float(props["score"]) == scored.score


def test_csv_gradebook_has_one_column_per_criterion(graded, tiny, tmp_path):
    scored = [scoring.score(judged(graded[name], tiny), rubric.load()) for name in ("good", "crash")]
    path = gradebook.write(scored, tmp_path / "gradebook.csv")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    criteria = [c.check for c in rubric.load().criteria]
    assert reader.fieldnames[-len(criteria) :] == criteria
    assert [row["student"] for row in rows] == ["good", "crash"]
    for row, s in zip(rows, scored, strict=True):
        assert float(row["score"]) == s.score and row["verdict"] == s.verdict
        assert {k: float(row[k]) for k in criteria} == {c.check: c.score for c in s.criteria}


def with_hidden_details(graded, tiny):
    """The good result plus what the held-out stage reports, and a rubric hiding some of it."""
    result = judged(graded["good"], tiny)
    result.checks.append(
        Check(
            "test_metrics",
            "Held-out test metrics",
            PASSED,
            f"Held-out test accuracy {TEST_ACCURACY}",
            measured={"accuracy": TEST_ACCURACY, "f1": TEST_F1},
            informational=True,
        )
    )
    result.measurements |= {"test_accuracy": TEST_ACCURACY, "test_f1": TEST_F1}
    return result


def visibility_rubric(tmp_path):
    path = tmp_path / "visibility.yaml"
    path.write_text(
        f"name: Visibility\nlate_policy: {{deadline: '{DEADLINE.isoformat()}', penalty_per_day_percent: 10}}\ncriteria:\n"
        "  - {check: run, points: 5}\n  - {check: ia3_trained, points: 5, visibility: hidden}\n"
        "  - {check: budget, points: 2, visibility: after_due_date}\n  - "
        "{check: test_metrics, points: 0, required: false, visibility: hidden}\n"
    )
    return rubric.load(path)


def test_student_outputs_hold_no_hidden_details_instructor_outputs_do(graded, tiny, tmp_path):
    scored = scoring.score(
        with_hidden_details(graded, tiny), visibility_rubric(tmp_path), DEADLINE.isoformat(), "test", now=DEADLINE - timedelta(days=1)
    )
    folder = write(scored, tmp_path / "out")
    student = {
        "report.html": (folder / "report.html").read_text(),
        "junit.xml": (folder / "junit.xml").read_text(),
        "classroom": "\n".join(
            base64.b64decode(line.partition("=")[2]).decode() for line in (folder / "classroom-result.txt").read_text().splitlines()
        ),
    }
    instructor = {
        "report-instructor.html": (folder / "report-instructor.html").read_text(),
        "scored.json": (folder / "scored.json").read_text(),
    }
    for name, text in student.items():
        leaked = hidden_shown(text)
        assert not leaked, f"{name} shows {leaked}"
        assert "Finished within the time budget" not in text, f"{name} shows an after-due-date criterion before the due date"
    for name, text in instructor.items():
        assert len(hidden_shown(text)) == 2 + len(HIDDEN_TEXT), f"{name} shows only {hidden_shown(text)}"
    # Gradescope enforces visibility itself: hidden details only inside tests marked hidden.
    gradescope = json.loads((folder / "results.json").read_text())
    assert not any(k.startswith("test_") for k in gradescope["extra_data"])
    for test in gradescope["tests"]:
        if hidden_shown(json.dumps(test)):
            assert test["visibility"] == "hidden", test["name"]
    # Totals still count withheld criteria: the grade is the grade.
    runners = [json.loads(line) for line in student["classroom"].splitlines()]
    assert sum(t["score"] for r in runners for t in r["tests"]) == pytest.approx(scored.score)
    assert sum(r["max_score"] for r in runners) == 12


def test_after_due_date_details_are_released_after_the_deadline(graded, tiny, tmp_path):
    late_view = scoring.score(
        with_hidden_details(graded, tiny), visibility_rubric(tmp_path), DEADLINE.isoformat(), "test", now=DEADLINE + timedelta(minutes=1)
    )
    folder = write(late_view, tmp_path / "out")
    report = (folder / "report.html").read_text()
    assert "Finished within the time budget" in report and "IA3 vectors were trained" not in report
    published = copy.copy(late_view)
    published.rubric = rubric.Rubric(**{**late_view.rubric.__dict__, "grades_published": True})
    assert all(published.released(c) == (c.visibility != "hidden") for c in published.criteria)
