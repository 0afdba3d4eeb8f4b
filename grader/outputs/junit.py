"""JUnit XML for any CI: one testcase per released criterion; failed -> <failure>, could not be
judged -> <error>, not run or informational -> <skipped>. The score travels as properties."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from grader.checks.judgement import ERROR, FAILED, NOT_RUN, PASSED
from grader.scoring.score import ScoredResult


def _case(suite: ET.Element, classname: str, name: str, status: str, message: str, detail: str, informational: bool) -> str:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
    kind = "passed"
    if informational and status != PASSED:
        ET.SubElement(case, "skipped", message=f"informational, not counted: {message}")
        kind = "skipped"
    elif status == FAILED:
        ET.SubElement(case, "failure", message=message, type="failed").text = detail
        kind = "failures"
    elif status == ERROR:
        ET.SubElement(case, "error", message=message, type="error").text = detail
        kind = "errors"
    elif status == NOT_RUN:
        ET.SubElement(case, "skipped", message=message)
        kind = "skipped"
    ET.SubElement(case, "system-out").text = detail
    return kind


def render(scored: ScoredResult) -> str:
    r = scored.result
    root = ET.Element("testsuites", name="IA3 grading")
    suite = ET.SubElement(root, "testsuite", name=f"{scored.rubric.name}: {r.submission}", timestamp=scored.scored_at[:19])
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("verdict", scored.verdict),
        ("score", scored.score),
        ("max_score", scored.max_score),
        ("raw_score", scored.raw_score),
        ("late", scored.late.message),
        ("profile", r.profile),
    ):
        ET.SubElement(props, "property", name=key, value=str(value))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    classname = f"grader.{r.profile}"
    for c in scored.criteria + scored.unscored:
        if not scored.released(c):
            continue
        detail = f"{c.message}\nexpected: {c.expected}\nmeasured: {c.measured}\npoints: {c.score:g}/{c.max_score:g}" + (
            f"\n{c.partial}" if c.partial else ""
        )
        kind = _case(suite, classname, c.name, c.status, c.message, detail, c.informational)
        counts["tests"] += 1
        counts[kind] = counts.get(kind, 0) + 1
    withheld = scored.withheld()
    if withheld:
        points = f"{sum(c.score for c in withheld):g}/{sum(c.max_score for c in withheld):g}"
        status = PASSED if scored.withheld_passed() else FAILED
        kind = _case(
            suite, classname, f"{len(withheld)} withheld criteria", status, f"details withheld; points {points}", f"points: {points}", False
        )
        counts["tests"] += 1
        counts[kind] = counts.get(kind, 0) + 1
    for key in ("tests", "failures", "errors", "skipped"):
        suite.set(key, str(counts[key]))
        root.set(key, str(counts[key]))
    suite.set("time", f"{r.execution_time:.3f}")
    root.set("time", f"{r.execution_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(scored: ScoredResult, path: Path) -> Path:
    path.write_text(render(scored), encoding="utf-8")
    return path
