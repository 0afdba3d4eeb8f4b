"""JUnit XML for any CI: one testcase per released criterion. A criterion that cost points is a
<failure> (the student's: failed, or not run because an earlier step failed) or an <error> (the
grader could not judge it, or the result lacks the check), each with its reason; <skipped> is
kept for what costs nothing (informational checks, checks not run that carry no points). Times
are the grader's own: each check's judging time, the suite's whole grading time, and the time of
each phase as properties. Every text passes through `plain`, so whatever a student's program
printed (colour codes, NUL, other control characters) the file stays valid XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from grader.checks.judgement import ERROR, FAILED, PASSED
from grader.outputs.wording import details, label, lost_points, outcome, plain
from grader.scoring.score import CriterionScore, ScoredResult


def kind_of(c: CriterionScore) -> str:
    """passed | failures | errors | skipped, as JUnit counts them."""
    kind = outcome(c)
    if kind == "error" or (kind == "absent" and c.max_score > 0):
        return "errors"
    if lost_points(c) or kind == "failed":
        return "failures"
    return "skipped" if kind in ("info", "not_run", "absent") else "passed"


def _case(suite: ET.Element, classname: str, c: CriterionScore, seconds: float) -> str:
    case = ET.SubElement(suite, "testcase", classname=classname, name=c.name, time=f"{seconds:.6f}")
    kind = kind_of(c)
    points = f"{c.score:g}/{c.max_score:g} points"
    reason = f"{label(c)} ({points}): {c.message}"
    text = f"{details(c)}\npoints: {c.score:g}/{c.max_score:g}"
    if kind == "failures":
        ET.SubElement(case, "failure", message=reason, type=outcome(c)).text = text
    elif kind == "errors":
        ET.SubElement(case, "error", message=reason, type=outcome(c)).text = text
    elif kind == "skipped":
        ET.SubElement(case, "skipped", message=reason)
    ET.SubElement(case, "system-out").text = text
    return kind


def _withheld_case(suite: ET.Element, classname: str, scored: ScoredResult, seconds: float) -> str:
    withheld = scored.withheld()
    score, maximum = sum(c.score for c in withheld), sum(c.max_score for c in withheld)
    summary = CriterionScore(
        "withheld",
        f"{len(withheld)} withheld criteria",
        PASSED if scored.withheld_passed() else FAILED,
        score,
        maximum,
        True,
        "visible",
        "details withheld until they are released",
    )
    if any(c.status == ERROR and c.required for c in withheld):
        summary.status = ERROR
    return _case(suite, classname, summary, seconds)


def _clean(element: ET.Element) -> None:
    for node in element.iter():
        node.text = plain(node.text) if node.text else node.text
        node.attrib = {key: plain(value) for key, value in node.attrib.items()}


def render(scored: ScoredResult) -> str:
    r = scored.result
    judged_in = {c.id: c.seconds for c in r.checks}
    root = ET.Element("testsuites", name="IA3 grading")
    suite = ET.SubElement(root, "testsuite", name=f"{scored.rubric.name}: {r.student or r.submission}", timestamp=scored.scored_at[:19])
    props = ET.SubElement(suite, "properties")
    facts = [
        ("verdict", scored.verdict),
        ("score", scored.score),
        ("max_score", scored.max_score),
        ("raw_score", scored.raw_score),
        ("late", scored.late.message),
        ("profile", r.profile),
        ("student", r.student),
    ]
    facts += [(f"phase_seconds.{name}", f"{seconds:.3f}") for name, seconds in r.phases.items()]
    for key, value in facts:
        ET.SubElement(props, "property", name=key, value=str(value))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "passed": 0}
    classname = f"grader.{r.profile}"
    for c in scored.criteria + scored.unscored:
        if scored.released(c):
            counts[_case(suite, classname, c, judged_in.get(c.check, 0.0))] += 1
            counts["tests"] += 1
    if scored.withheld():
        seconds = sum(judged_in.get(c.check, 0.0) for c in scored.withheld())
        counts[_withheld_case(suite, classname, scored, seconds)] += 1
        counts["tests"] += 1
    for key in ("tests", "failures", "errors", "skipped"):
        suite.set(key, str(counts[key]))
        root.set(key, str(counts[key]))
    suite.set("time", f"{r.execution_time:.3f}")
    root.set("time", f"{r.execution_time:.3f}")
    _clean(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(scored: ScoredResult, path: Path) -> Path:
    path.write_text(render(scored), encoding="utf-8")
    return path
