"""GitHub Classroom's grading reporter, as it reads runner results: a line-for-line reproduction
of classroom-resources/autograding-grading-reporter@v1 (dist/main.js of release commit
d13b5912daf5042ac1b71bc38bdb4a6bcd61d8ca; the same code as education/autograding-grading-reporter
src/ at 1a54efb): src/main.js, src/console-results.js, src/aggregate-results.js,
src/helpers/test-helpers.js and src/notify-classroom.js. Python floats are IEEE doubles as
JavaScript numbers are, and the sums run in the same order, so the totals are the same numbers."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass


def decode_output(text: str) -> list[tuple[str, dict]]:
    """`id=base64` lines (what a step appends to $GITHUB_OUTPUT) -> [(runner, result)]."""
    pairs = []
    for line in text.splitlines():
        runner, _, value = line.partition("=")
        pairs.append((runner, json.loads(base64.b64decode(value, validate=True))))
    return pairs


def max_score_for_test(results: dict) -> float:  # getMaxScoreForTest: results.max_score || 0
    return results.get("max_score") or 0


def test_score(results: dict) -> float:  # getTestScore: (tests passed / tests) x max_score
    passed = sum(1 for t in results["tests"] if t["status"] == "pass")
    return passed / len(results["tests"]) * (max_score_for_test(results) or 0)


@dataclass
class Reading:
    log: list[str]  # what ConsoleResults prints, colours left out
    table_total: float  # AggregateResults' "Total:" row
    table_max: float
    points: tuple[float, float] | None  # NotifyClassroom's "Points X/Y" (None: nothing sent)
    failed: str | None  # core.setFailed's message, or None when the job passes


def read(runner_results: list[tuple[str, dict]]) -> Reading:
    log = []
    for index, (runner, results) in enumerate(runner_results):
        maximum, score = max_score_for_test(results), test_score(results)
        if index > 0:
            log.append("🚀" * 24)
        log.append(f"🔄 Processing: {runner}")
        for test in results["tests"]:
            if test["status"] == "pass":
                log.append(f"✅ {test['name']}" + (f" - line {test['line_no']}" if test.get("line_no") != 0 else ""))
            elif test["status"] == "error":
                failed_to_run = "Failed to run test '" + test["name"] + "'"
                log.append(f"Error: {test.get('message') or failed_to_run}")
            else:
                log.append(f"❌ {test['name']}" + (f" - line {test['line_no']}" if test.get("line_no") != 0 else ""))
            if test.get("test_code"):
                log.append(f"Test code:\n{test['test_code']}")
        if maximum != 0:
            log.append(f"Total points for {runner}: {score:.2f}/{maximum}")
    totals = [(test_score(r), max_score_for_test(r)) for _, r in runner_results]
    table_total = sum_in_order(s for s, _ in totals)
    table_max = sum_in_order(m for _, m in totals)
    total_points, max_points = 0.0, 0.0
    for _, results in runner_results:  # NotifyClassroom: runners with a max_score only
        if not results.get("max_score"):
            continue
        max_points += results["max_score"]
        for test in results["tests"]:
            total_points += test["score"]
    points = (total_points, max_points) if max_points else None
    statuses = [r["status"] for _, r in runner_results]
    failed = "Some tests failed." if "fail" in statuses else "Some tests errored." if "error" in statuses else None
    return Reading(log, table_total, table_max, points, failed)


def sum_in_order(values) -> float:
    total = 0.0
    for value in values:
        total += value
    return total
