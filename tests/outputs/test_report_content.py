"""What the HTML reports say and in what order: each split against its own majority baseline
(computed here from the data), the student's name, failed criteria first, banners coloured by
the worst outcome, informational rows apart, bars that are not green at the majority baseline."""

import html
import json
import re
import shutil
from dataclasses import replace

import pytest
from markupsafe import escape

from grader.checks.judgement import FAILED
from grader.course import data
from grader.outputs import charts, files, report, store, summary
from grader.outputs.wording import show
from grader.scoring import score as scoring
from tests.helpers import grade

ROW = re.compile(r'<tr class="o-(\w+)">(.*?)</tr>', re.S)
POINTS = re.compile(r'data-label="Points">([\d.]+) / ([\d.]+)</td>')


def failing(graded, student: str = "Grace Hopper"):
    """The good run with two required checks failed, as a real judgement of a bad adapter reads."""
    scored = store.load(graded["good"])
    result = scored.result
    result.student = student
    for check in result.checks:
        if check.id in ("ia3_trained", "frozen_base"):
            check.status = FAILED
            check.message = (
                "0 of 8 vectors moved: base_model.model.roberta.encoder.layer.0.attention.self.key.ia3_l.default "
                "is still exactly 1.0 (loss.backward() is a no-op in mindtorch)"
            )
    return scoring.score(result, scored.rubric)


def rows(page: str) -> list[tuple[str, bool]]:
    """(outcome, lost points) for each criterion row, in page order."""
    found = []
    for outcome, cells in ROW.findall(page):
        score, maximum = map(float, POINTS.search(cells).groups())
        found.append((outcome, score < maximum))
    return found


def test_each_split_is_compared_with_its_own_majority_baseline(graded, mrpc_dir, tiny_profile):
    scored = store.load(graded["good"])
    metric_rows = {row["label"]: row for row in report.view(scored, "instructor")["metric_rows"]}
    page = report.render(scored, "instructor")
    baselines = {}
    for split, name, limit in (("validation", "Validation", None), ("test", "Held-out test", tiny_profile.test_limit)):
        labels = [row["label"] for row in data.load_split(mrpc_dir, split)][: limit or None]
        ones = sum(labels) / len(labels)
        assert ones > 0.5  # MRPC: paraphrases are the majority, so a constant 1 is the baseline
        baselines[split] = ones
        assert metric_rows[f"{name} accuracy"]["baseline"] == pytest.approx(ones)
        assert metric_rows[f"{name} F1"]["baseline"] == pytest.approx(2 * ones / (1 + ones))
        row = re.search(rf"{name} accuracy</td>.*?</tr>", page, re.S).group()
        assert show(ones) in row
    assert baselines["test"] != pytest.approx(baselines["validation"])  # the bug: test rows showed validation's


def test_the_students_name_from_the_command_line_is_in_every_output(tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "train.py").write_text("import sys\nprint('giving up')\nsys.exit(3)\n")
    name = "Zoë <O'Brien>"
    done = grade(folder, tmp_path / "out", "--student", name, "--submitted-at", "2026-11-20T12:00:00+00:00")
    assert done.code == 1
    for page in ("report.html", "report-instructor.html"):
        text = (done.out / page).read_text()
        assert f"Student: <strong>{escape(name)}</strong>" in text and name not in text
    assert done.results["extra_data"]["student"] == name and done.results["output"].startswith(f"Student: {name}")
    assert f'name="student" value="{html.escape(name, quote=False)}"' in (done.out / "junit.xml").read_text().replace("&quot;", '"')
    assert store.load(done.out).result.student == name


def test_criteria_that_cost_points_come_first(graded):
    for scored in (failing(graded), store.load(graded["crash"])):
        order = rows(report.render(scored, "student"))
        lost = [is_lost for outcome, is_lost in order if outcome not in ("info", "withheld")]
        assert True in lost and lost == sorted(lost, reverse=True), order
        kinds = [outcome for outcome, is_lost in order if is_lost]
        assert kinds == sorted(kinds, key=["failed", "error", "not_run", "absent", "passed"].index), kinds
    rubric_order = [c.check for c in failing(graded).criteria]
    assert rubric_order.index("run") < rubric_order.index("ia3_trained")  # so the order above is the report's doing


def test_banner_is_coloured_by_the_worst_outcome(graded, tmp_path):
    good = store.load(graded["good"])
    assert 'class="verdict selfcheck"' in report.render(good) and good.score == good.max_score  # never a grade's green
    good.result.profile = "roberta-large"  # the same result on a real-weight profile with informative thresholds
    good.result.standard = replace(good.result.standard, thresholds=replace(good.result.standard.thresholds, informational=False))
    assert 'class="verdict passed"' in report.render(good)
    assert 'class="verdict failed"' in report.render(failing(graded))
    result = store.load(graded["good"]).result
    result.checks = [replace(c, status=FAILED) if c.id == "ia3_trained" else c for c in result.checks]
    relaxed = replace(good.rubric, criteria=tuple(replace(c, required=c.check != "ia3_trained") for c in good.rubric.criteria))
    lost_optional = scoring.score(result, relaxed)
    assert lost_optional.passed and lost_optional.score < lost_optional.max_score
    assert 'class="verdict warn"' in report.render(lost_optional)
    # the class summary: not green while anyone failed
    assert 'class="verdict failed"' in summary.write([graded["good"], graded["crash"]], tmp_path / "mixed")[0].read_text()
    both = [shutil.copytree(graded["good"], tmp_path / name) for name in ("a", "b")]
    assert 'class="verdict passed"' in summary.write(both, tmp_path / "all-passed")[0].read_text()


def test_informational_rows_stand_apart_and_never_read_as_failures(graded):
    scored = store.load(graded["good"])
    page = report.render(scored, "instructor")
    informational = [c for c in scored.criteria if c.informational]
    assert any(c.status == FAILED for c in informational)  # the tiny model collapses: an informational failure
    body = page[page.index('<tbody class="informational">') :]
    body = body[: body.index("</tbody>")]
    for c in informational:
        assert escape(c.name) in body
        words = "constant answer" if c.check in ("accuracy", "f1") and c.status == "passed" else c.status.replace("_", " ")
        status = f'<td class="status s-info" data-label="Status">info: {words}'
        assert re.search(rf'<tr class="o-info">\s*{status}.*?{re.escape(str(escape(c.name)))}', body, re.S), c.name
    scored_part = page[: page.index('<tbody class="informational">')]
    assert not any(escape(c.name) in scored_part for c in informational)


def test_metric_bars_are_not_green_at_the_majority_baseline(graded):
    scored = store.load(graded["good"])
    view = report.view(scored, "student")
    chart, measured = str(view["metric_chart"]), view["metric_rows"]
    assert all(row["value"] == pytest.approx(row["baseline"]) for row in measured)  # the tiny model answers 1 everywhere
    assert f'fill="{charts.PASS}"' not in chart and chart.count(f'fill="{charts.WARN}"') == len(measured)
    assert chart.count('class="threshold"') == chart.count('class="baseline"') == len(measured)
    legend = str(view["metric_legend"])
    assert "threshold" in legend and "majority-class baseline" in legend
    better = store.load(graded["good"])
    better.result.measurements["validation_accuracy"] = measured[0]["baseline"] + 0.05
    assert f'fill="{charts.PASS}"' in str(report.view(better, "student")["metric_chart"])
    worse = store.load(graded["good"])
    worse.result.measurements["validation_accuracy"] = measured[0]["threshold"] - 0.05
    assert f'fill="{charts.FAIL}"' in str(report.view(worse, "student")["metric_chart"])


def test_a_failing_result_is_written_as_failed_in_every_output(graded, tmp_path):
    scored = failing(graded)
    assert not scored.passed and scored.score < scored.max_score
    written = files.write_all(scored, tmp_path / "failing")
    page = written["report.html"].read_text()
    assert 'class="verdict failed"' in page and str(escape("0 of 8 vectors moved")) in page
    results = json.loads(written["results.json"].read_text())
    assert (results["score"], results["extra_data"]["verdict"]) == (scored.score, "failed")
    assert int(re.search(r'failures="(\d+)"', written["junit.xml"].read_text()).group(1)) >= 2
    assert store.load(tmp_path / "failing").score == scored.score  # read back, not the object written
