"""Render the per-student HTML report from a ScoredResult, for the student or the instructor.

The student view leaves out whatever the rubric withholds (hidden checks, details released only
after the due date or publication) and the held-out test numbers; the instructor view shows all.
The page is one self-contained file: inline CSS, inline SVG charts, no script, no network.
"""

from __future__ import annotations

import re

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from grader.checks.judgement import PASSED
from grader.course.calibration import METRICS
from grader.evidence.adapter import CHOICE_RULE
from grader.outputs import charts, self_check
from grader.outputs.wording import breakable, label, lost_points, outcome, plain, show
from grader.paths import TEMPLATES_DIR
from grader.run.isolation import CONTAINER, NONE
from grader.run.sandbox import UNSAFE
from grader.scoring.score import CriterionScore, ScoredResult

AUDIENCES = ("student", "instructor")
LOG_CONTEXT_BEFORE, LOG_CONTEXT_AFTER, LOG_TAIL = 25, 5, 30
ERROR_LINE = re.compile(r"^\s*(\w+\.)*\w*(Error|Exception)\b|Traceback \(most recent call last\)|^\s*Killed\b")
SHOWN_ELSEWHERE = {"parameter_groups", "loss_curve", "other_adapters"}


def _printable(value):
    """Every printed value without colour codes or control characters (a student's output can
    hold them, a file name lone surrogates that UTF-8 cannot even write)."""
    if isinstance(value, Markup):
        return Markup(plain(str(value)))
    return plain(value) if isinstance(value, str) else value


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html", "j2"]), finalize=_printable)
    env.filters["show"] = show
    env.filters["breakable"] = breakable
    env.filters["label"] = label
    env.filters["outcome"] = outcome
    return env


def log_excerpt(text: str) -> tuple[list[tuple[str, bool]], str]:
    """Lines around the last error (marked), or the tail of the output when nothing failed."""
    lines = text.splitlines()
    errors = [i for i, line in enumerate(lines) if ERROR_LINE.search(line)]
    if not errors:
        return [(line, False) for line in lines[-LOG_TAIL:]], "the end of the run's output"
    last = errors[-1]
    tracebacks = [i for i in errors if "Traceback" in lines[i]]
    begin = tracebacks[-1] if tracebacks else last
    start = max(0, begin - 3, last - LOG_CONTEXT_BEFORE)
    end = min(len(lines), last + LOG_CONTEXT_AFTER + 1)
    return [(line, i == last) for i, line in enumerate(lines[start:end], start)], f"the output around the error (lines {start + 1}-{end})"


def unsafe(scored: ScoredResult) -> bool:
    """Whether the run was graded without the sandbox (isolation container or none)."""
    mode = scored.result.environment.get("isolation_mode")
    return mode in (CONTAINER, NONE) or (mode is None and scored.result.environment.get("sandbox") == UNSAFE)


def isolation_note(scored: ScoredResult) -> str:
    """The isolation line every output shows when the run was not sandboxed; empty otherwise."""
    if not unsafe(scored):
        return ""
    return scored.result.environment.get("isolation_label") or UNSAFE


def split_baseline(scored: ScoredResult, split: str, metric: str) -> float | None:
    """The split's own majority-class baseline, measured on its labels with the adapter; a result
    from before that was recorded falls back to the calibration's, which is validation's only."""
    value = scored.result.measurements.get(f"{split}_majority_{metric}")
    standard = scored.result.standard
    if value is None and split == "validation" and standard and standard.majority_baseline:
        value = standard.majority_baseline.value(metric)
    return value


def _metric_rows(scored: ScoredResult, instructor: bool) -> list[dict]:
    r, standard = scored.result, scored.result.standard
    rows = []
    splits = [("validation", "Validation")] + ([("test", "Held-out test")] if instructor else [])
    for split, split_name in splits:
        for metric in METRICS:
            value = r.measurements.get(f"{split}_{metric}")
            if value is None:
                continue
            baseline = split_baseline(scored, split, metric)
            reaches = standard is not None and standard.thresholds.reached(metric, value)
            rows.append(
                {
                    "label": f"{split_name} {'accuracy' if metric == 'accuracy' else 'F1'}",
                    "metric": metric,
                    "value": value,
                    "reference": standard.reference.metrics.value(metric) if standard else None,
                    "threshold": standard.thresholds.value(metric) if standard else None,
                    "baseline": baseline,
                    "reaches": reaches,
                    "standing": charts.standing(reaches, value, baseline),
                }
            )
    return rows


def _metric_chart(rows: list[dict]):
    if not rows:
        return None
    bars = [(row["label"], row["value"], charts.STANDING_COLOURS[row["standing"]], row["threshold"], row["baseline"]) for row in rows]
    return charts.hbars(bars, 1.0, "Metrics measured by the grader, each with its threshold and its split's majority-class baseline")


RANK = {"failed": 0, "error": 1, "not_run": 2, "absent": 3, "passed": 4, "info": 5}


def ordered(criteria: list[CriterionScore]) -> tuple[list[CriterionScore], list[CriterionScore]]:
    """Scored criteria, those that cost points first (in rubric order within each outcome), and
    the informational ones (worth nothing) apart."""
    scored = [c for c in criteria if outcome(c) != "info"]
    scored.sort(key=lambda c: 0 if lost_points(c) and outcome(c) == "passed" else RANK[outcome(c)])
    return scored, [c for c in criteria if outcome(c) == "info"]


def banner(scored: ScoredResult) -> str:
    """The verdict banner's colour is the worst outcome: green only when nothing cost points, and
    never on a self-check, which is no course grade (a neutral colour when it passed)."""
    if not scored.passed:
        return "failed"
    if any(lost_points(c) for c in scored.criteria):
        return "warn"
    return "selfcheck" if self_check.is_self_check(scored) else "passed"


def constant_answer(scored: ScoredResult, metric: str) -> bool:
    """The grader measured the adapter answering one class for every validation pair, or scoring
    no better than that split's majority-class baseline on `metric`."""
    measurements = scored.result.measurements
    if measurements.get("validation_positive_rate") in (0.0, 1.0):
        return True
    value, baseline = measurements.get(f"validation_{metric}"), split_baseline(scored, "validation", metric)
    return value is not None and baseline is not None and value <= baseline + 1e-9


def info_status(c: CriterionScore, scored: ScoredResult) -> str:
    """An informational criterion's status in words. A metric that reached its threshold with a
    constant answer says that, never `passed`: a collapsed model has learnt nothing."""
    if c.check in METRICS and c.status == PASSED and constant_answer(scored, c.check):
        return "info: constant answer"
    return f"info: {c.status.replace('_', ' ')}"


def _loss_chart(curve):
    """Accepts [loss, ...] or [[step, loss], ...]; anything else is not drawn."""
    if not isinstance(curve, list) or len(curve) < 2:
        return None
    try:
        points = [(float(p[0]), float(p[1])) if isinstance(p, (list, tuple)) else (float(i), float(p)) for i, p in enumerate(curve)]
    except (TypeError, ValueError, IndexError):
        return None
    return charts.line(points, "Training loss per step")


def adapters_found(measurements: dict) -> dict | None:
    """Which adapter was graded when the run left several, the others, and the rule that chose."""
    others = measurements.get("other_adapters") or []
    if not others:
        return None
    return {"graded": measurements.get("adapter_found_at"), "others": others, "count": len(others) + 1, "rule": CHOICE_RULE}


def view(scored: ScoredResult, audience: str, class_notes: list[str] | None = None) -> dict:
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}")
    instructor = audience == "instructor"
    r = scored.result
    shown, informational = ordered([c for c in scored.criteria if instructor or scored.released(c)])
    withheld = [c for c in scored.criteria if not (instructor or scored.released(c))]
    unscored = [c for c in scored.unscored if instructor or scored.released(c)]
    measurements = r.measurements if instructor else scored.student_measurements()
    metric_rows = _metric_rows(scored, instructor)
    lines, log_title = log_excerpt(r.log_excerpt) if r.log_excerpt else ([], "")
    run = next((c for c in scored.criteria if c.check == "run"), None)
    return {
        "audience": audience,
        "instructor": instructor,
        "s": scored,
        "r": r,
        "criteria": shown,
        "informational": informational,
        "banner": banner(scored),
        "headline": self_check.headline(scored),
        "self_check": self_check.note(scored),
        "info_status": lambda c: info_status(c, scored),
        "unsafe": isolation_note(scored),
        "isolation_mode": scored.result.environment.get("isolation_mode"),
        "metric_legend": charts.metric_legend() if metric_rows else None,
        "withheld": {"count": len(withheld), "score": sum(c.score for c in withheld), "max_score": sum(c.max_score for c in withheld)},
        "unscored": unscored,
        "metric_rows": metric_rows,
        "metric_chart": _metric_chart(metric_rows),
        "parameter_groups": measurements.get("parameter_groups") or [],
        "loss_chart": _loss_chart(measurements.get("loss_curve")),
        "other_measurements": {k: v for k, v in measurements.items() if k not in SHOWN_ELSEWHERE},
        "log_lines": lines,
        "log_title": log_title,
        "run_failed": bool(run and run.status != PASSED),
        "budget_used": measurements.get("wall_seconds"),
        "class_notes": list(class_notes or []) if instructor else [],
        "adapters": adapters_found(r.measurements),
    }


def render(scored: ScoredResult, audience: str = "student", class_notes: list[str] | None = None) -> str:
    """`class_notes`: what the class summary found across students (instructor view only)."""
    return environment().get_template("report.html.j2").render(**view(scored, audience, class_notes))
