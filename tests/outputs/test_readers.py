"""Gradescope and JUnit read as their readers read them: what a student sees on Gradescope (the
total, red only where points were lost, no empty fields), the leaderboard a rubric asks for, and
JUnit that reports lost points as failures with their reasons, real times, and valid XML whatever
a student's program printed."""

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from junitparser import JUnitXml

from grader.checks.judgement import FAILED, PASSED
from grader.outputs import files, gradescope, junit
from grader.scoring import rubric
from grader.scoring import score as scoring
from tests.helpers import judged, rubric_file

HOSTILE = "\x1b[31;1mValueError\x1b[0m: bad\x00 label \x07\x08\x0b\x0c\x1b]0;title\x07\x7f\x85 end \ud800"


def test_students_keep_their_total_unless_the_rubric_hides_points(graded, tiny, tmp_path):
    """Gradescope hides a student's total while any test is hidden: hidden checks worth nothing
    go to extra_data (stored, never shown), so only a rubric's hidden points hide the total."""
    default = gradescope.render(scoring.score(judged(graded["good"], tiny), rubric.load()))
    hidden_zero = [c.check for c in rubric.load().criteria if c.visibility == "hidden" and c.points == 0]
    assert hidden_zero and not [t["name"] for t in default["tests"] if t["visibility"] == "hidden"]
    kept = default["extra_data"]["instructor_only"]
    assert [t["tags"][0] for t in kept["tests"]] == hidden_zero
    assert kept["measurements"]["test_accuracy"] == judged(graded["good"], tiny).measurements["test_accuracy"]
    assert not any(key.startswith(("test_", "claimed_")) for key in default["extra_data"] if key != "instructor_only")

    points = rubric_file(
        tmp_path, "name: r\ncriteria:\n  - {check: run, points: 5}\n  - {check: ia3_trained, points: 5, visibility: hidden}\n"
    )
    hidden = gradescope.render(scoring.score(judged(graded["good"], tiny), points))
    assert [t["tags"][0] for t in hidden["tests"] if t["visibility"] == "hidden"] == ["ia3_trained"]


def test_informational_and_not_run_checks_do_not_read_as_failures(graded, tiny):
    for name in ("good", "crash"):
        scored = scoring.score(judged(graded[name], tiny), rubric.load())
        data = gradescope.render(scored)
        tests = data["tests"] + data["extra_data"]["instructor_only"]["tests"]
        for test in tests:
            assert "None" not in test["output"], test["output"]  # no "expected: None"
        for c in scored.criteria + scored.unscored:
            test = next(t for t in tests if t["tags"][0] == c.check)
            if c.informational:
                assert test["status"] == "passed" and test["name"].endswith("(informational)")
                assert test["output"].startswith("Informational, worth 0 points")
            if c.status == "not_run" and c.max_score:
                assert test["output"].startswith("Not run: ") and c.message in test["output"]
                assert test["status"] == "failed"  # it still cost points
    crash = scoring.score(judged(graded["crash"], tiny), rubric.load())
    informational_failed = [c for c in crash.criteria if c.informational and c.status != PASSED]
    assert informational_failed  # the crash has informational checks that did not pass: all green on Gradescope


def test_leaderboard_carries_held_out_accuracy_when_the_rubric_asks(graded, tiny, tmp_path):
    result = judged(graded["good"], tiny)
    assert "leaderboard" not in gradescope.render(scoring.score(result, rubric.load()))
    asked = rubric_file(tmp_path, "name: r\nleaderboard: [test_accuracy, validation_f1]\ncriteria:\n  - {check: run, points: 5}\n")
    board = gradescope.render(scoring.score(result, asked))["leaderboard"]
    assert board == [
        {"name": "Held-out test accuracy", "value": round(result.measurements["test_accuracy"], 4), "order": "desc"},
        {"name": "Validation F1", "value": round(result.measurements["validation_f1"], 4), "order": "desc"},
    ]
    again = rubric.from_dict(json.loads(json.dumps(asked.to_dict())))  # re-scoring keeps it
    assert again.leaderboard == ("test_accuracy", "validation_f1")
    with pytest.raises(rubric.RubricError, match=r"leaderboard\[0\].*use one of: test_accuracy"):
        rubric_file(tmp_path, "name: r\nleaderboard: [test_acc]\ncriteria:\n  - {check: run, points: 5}\n")


def test_junit_times_are_the_graders_own(graded, tiny):
    scored = scoring.score(judged(graded["good"], tiny), rubric.load())
    root = ET.fromstring(junit.render(scored))
    seconds = {c.id: c.seconds for c in scored.result.checks}
    cases = root.findall(".//testcase")
    assert all(float(case.get("time")) > 0 for case in cases)
    by_name = {c.name: c.check for c in scored.criteria + scored.unscored}
    for case in cases:
        if case.get("name") in by_name:
            assert float(case.get("time")) == pytest.approx(seconds[by_name[case.get("name")]], abs=1e-6)
    stored = judged(graded["good"], tiny)  # the stored grading's phases, measured while it ran
    stored.phases = json.loads((graded["good"] / "scored.json").read_text())["result"]["phases"]
    props = {p.get("name"): p.get("value") for p in ET.fromstring(junit.render(replace(scored, result=stored))).iter("property")}
    assert {"model", "run", "evaluate", "score"} <= {k.split(".", 1)[1] for k in props if k.startswith("phase_seconds.")}
    assert float(props["phase_seconds.run"]) > 1  # the student's training took real time


def test_junit_is_valid_xml_whatever_the_student_printed(graded, tiny, tmp_path):
    result = judged(graded["crash"], tiny)
    run = next(c for c in result.checks if c.id == "run")
    run.message, run.measured = f"the run failed: {HOSTILE}", HOSTILE
    result.student = f"Eve{HOSTILE.replace(chr(0xD800), '')}"  # (the CSV gradebook writes names as they are)
    scored = scoring.score(result, rubric.load())
    folder = tmp_path / "out"
    files.write_all(scored, folder)
    text = (folder / "junit.xml").read_text(encoding="utf-8")
    root = ET.fromstring(text.encode())  # a strict XML 1.0 parser
    assert list(JUnitXml.fromfile(str(folder / "junit.xml")))
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]", text)
    failure = next(case for case in root.iter("testcase") if case.get("name") == next(c.name for c in scored.criteria if c.check == "run"))
    message = failure.find("failure").get("message")
    assert "ValueError: bad\\x00 label \\x07\\x08\\x0b\\x0c" in message and "\\x7f\\x85 end \\ud800" in message
    assert "[31;1m" not in message and "title" not in message  # colour and title sequences dropped, not escaped
    results = json.loads((folder / "results.json").read_text())
    assert "\x1b" not in json.dumps(results["tests"], ensure_ascii=False) and "ValueError: bad\\x00" in results["tests"][0]["output"]
    assert FAILED in {c.status for c in scored.criteria}
    report = (folder / "report.html").read_text(encoding="utf-8")  # written at all: UTF-8 cannot hold a lone surrogate
    assert "ValueError: bad\\x00 label" in report and "\x1b" not in report and "\x00" not in report
