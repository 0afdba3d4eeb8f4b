"""Each output read as its reader reads it: a student's report.html in headless Chromium, result.md
as the text a CI summary shows, the class summary in Chromium at 1280 px, and `grade summary` and
`grade rescore` given a shell's `class/*`, which lists the class's own files beside the students'."""

import json
import re
import shutil

import pytest

from grader import cli
from grader.commands import ledger
from grader.outputs import files, store, summary
from tests.helpers import grade

GREEN = "rgb(227, 245, 230)"  # .passed's background: the colour of a course grade passed

# Every text of an inline SVG chart that runs past its chart's edges (a label cut off).
CUT_LABELS = """(() => {
  const cut = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const box = svg.getBoundingClientRect();
    for (const text of svg.querySelectorAll('text')) {
      const r = text.getBoundingClientRect();
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5) cut.push(text.textContent);
    }
  }
  return cut;
})()"""

VERDICT = """(() => {
  const v = document.getElementById('verdict');
  const rows = Array.from(document.querySelectorAll('table.criteria tr')).map(tr => Array.from(tr.cells).map(td => td.innerText.trim()));
  return {text: v.innerText, background: getComputedStyle(v).backgroundColor, rows};
})()"""


def edited(folder, dest, change):
    """A copy of a graded folder whose scored.json `change` edits, with every output written again from it."""
    copy = shutil.copytree(folder, dest)
    data = json.loads((copy / files.SCORED).read_text())
    change(data)
    (copy / files.SCORED).write_text(json.dumps(data))
    files.write_all(store.load(copy), copy)
    return copy


def status_of(rows, name):
    return next(row[0] for row in rows if len(row) > 1 and row[1].startswith(name))


# report.html


def test_a_self_check_report_never_reads_as_a_course_grade(browser, graded):
    scored = store.load(graded["good"])
    assert scored.result.profile == "tiny" and scored.passed
    page = browser.open(graded["good"] / "report.html", probe=VERDICT)
    verdict = page.probe["text"]
    assert verdict.startswith("Self-check passed") and "Not a course grade" in verdict, verdict
    assert page.probe["background"] != GREEN
    assert "not a course grade" in page.text and "It does not show whether your accuracy and F1" in page.text
    assert page.text.index("It does not show") < page.text.index("Criteria")
    terminal = (graded["good"] / "result.md").read_text()
    assert terminal.startswith("## ℹ️ Self-check passed") and "not a course grade" in terminal


def test_the_same_result_on_a_course_profile_reads_as_a_grade(browser, graded, tmp_path):
    """The counterpart: a result on a real-weight profile whose thresholds carry signal is a grade."""

    def course(data):
        data["result"]["profile"] = "roberta-large"
        data["result"]["standard"]["thresholds"]["informational"] = False

    folder = edited(graded["good"], tmp_path / "course", course)
    page = browser.open(folder / "report.html", probe=VERDICT)
    assert page.probe["text"].startswith("Passed") and "Not a course grade" not in page.probe["text"]
    assert page.probe["background"] == GREEN and "Self-check" not in page.text


@pytest.mark.parametrize("positive_rate", [1.0, 0.0])
def test_an_informational_metric_on_a_constant_answer_never_reads_passed(browser, graded, tmp_path, positive_rate):
    def collapsed(data):
        data["result"]["measurements"]["validation_positive_rate"] = positive_rate
        for c in data["criteria"]:
            if c["check"] in ("accuracy", "f1"):
                c["status"], c["informational"] = "passed", True

    folder = edited(graded["good"], tmp_path / "collapsed", collapsed)
    rows = browser.open(folder / "report.html", probe=VERDICT).probe["rows"]
    for name in ("Validation accuracy", "Validation F1"):
        status = status_of(rows, name)
        assert "passed" not in status and "constant answer" in status, (name, status)
    markdown = (folder / "result.md").read_text()
    accuracy = next(line for line in markdown.splitlines() if "Validation accuracy" in line)
    assert "constant answer" in accuracy and "passed" not in accuracy.split("|")[1]


def test_an_informational_metric_that_learnt_still_reads_as_what_it_found(browser, graded, tmp_path):
    def learnt(data):
        measurements = data["result"]["measurements"]
        measurements["validation_positive_rate"] = 0.55
        measurements["validation_accuracy"] = measurements["validation_majority_accuracy"] + 0.1
        for c in data["criteria"]:
            if c["check"] == "accuracy":
                c["status"], c["informational"] = "passed", True

    folder = edited(graded["good"], tmp_path / "learnt", learnt)
    rows = browser.open(folder / "report.html", probe=VERDICT).probe["rows"]
    assert status_of(rows, "Validation accuracy") == "info: passed"


# result.md


def table(markdown: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in markdown.splitlines() if line.startswith("| ")][1:]


def read_result(folder):
    text = (folder / files.MARKDOWN).read_text()
    scored = json.loads((folder / files.SCORED).read_text())
    return text, table(text), scored


def assert_each_criterion_once(text, rows, scored):
    shown = [c for c in scored["criteria"] if c["visibility"] == "visible"]
    for c in shown:
        assert text.count(c["name"]) == 1, (c["name"], text)
    assert "None" not in text and "{'" not in text, text


def test_a_crash_shows_the_run_once_and_marks_what_follows(graded):
    text, rows, scored = read_result(graded["crash"])
    assert_each_criterion_once(text, rows, scored)
    run = next(row for row in rows if row[2].startswith("Training script ran to completion"))
    assert "failed" in run[0] and "ValueError" in run[3]
    following = [row for row in rows if "follows from" in row[3]]
    assert len(following) == 1 and following[0][3] == "follows from: the run did not complete", rows
    not_run = [c["name"] for c in scored["criteria"] if c["status"] == "not_run" and c["visibility"] == "visible"]
    assert not_run and all(name in following[0][2] for name in not_run)
    assert rows.index(following[0]) == rows.index(run) + 1


def test_no_adapter_saved_is_the_root_of_what_needs_the_adapter(tmp_path, tiny_model_dir):
    """A run that completes without saving an adapter: one row says so, one row lists what follows."""
    source = tmp_path / "no-adapter"
    source.mkdir()
    (source / "train.py").write_text("print('trained, saved nothing')\n")
    done = grade(source, tmp_path / "out")
    assert done.code == 1
    text, rows, scored = read_result(done.out)
    assert_each_criterion_once(text, rows, scored)
    adapter = next(row for row in rows if row[2].startswith("Adapter is IA3"))
    assert "failed" in adapter[0] and "no adapter saved" in adapter[3]
    following = [row for row in rows if "follows from" in row[3]]
    assert [row[3] for row in following] == ["follows from: no adapter saved"], rows
    assert "Training script ran to completion" not in following[0][2]  # it passed: no cause of anything
    assert rows.index(following[0]) == rows.index(adapter) + 1


def test_nothing_ran_never_says_where_it_looked(tmp_path, tiny_model_dir):
    source = tmp_path / "empty"
    source.mkdir()
    (source / "README.md").write_text("no code here\n")
    done = grade(source, tmp_path / "out")
    text, rows, scored = read_result(done.out)
    assert_each_criterion_once(text, rows, scored)
    assert "nowhere" not in text
    following = [row for row in rows if "follows from" in row[3]]
    assert [row[3] for row in following] == ["follows from: the run did not complete"]
    assert "Adapter is IA3" in following[0][2]


# the class summary


def pass_rate_rows(page_rows):
    return {row[0].split(" ")[0]: row for row in page_rows[1:]}


def test_pass_rates_count_only_the_students_a_criterion_was_judged_for(browser, graded, tmp_path):
    path, _ = summary.write([graded["good"], graded["crash"]], tmp_path / "class")
    probe = "Array.from(document.querySelectorAll('#pass-rates tr')).map(tr => Array.from(tr.cells).map(td => td.innerText.trim()))"
    page = browser.open(path, probe=probe)
    shown = pass_rate_rows(page.probe)
    statuses = {}
    for folder in (graded["good"], graded["crash"]):
        for c in json.loads((folder / files.SCORED).read_text())["criteria"]:
            statuses.setdefault(c["check"], []).append(c["status"])
    assert any("not_run" in found for found in statuses.values())  # the crash leaves criteria not run
    for check, found in statuses.items():
        judged = sum(s in ("passed", "failed") for s in found)
        row = shown[check]
        assert int(row[2]) == judged and int(row[4]) == len(found) - judged, (check, row)
        if judged == 0:
            assert row[3] == "none judged", row


def test_no_chart_label_is_cut_at_1280_px(browser, graded, tmp_path):
    long_name = edited(
        graded["good"], tmp_path / "long", lambda d: d["result"].update(student="Maria Concepción Rodríguez-Fernández de la Vega")
    )
    path, _ = summary.write([graded["good"], graded["crash"], long_name], tmp_path / "class")
    for page_path in (path, graded["good"] / "report.html", graded["good"] / "report-instructor.html"):
        page = browser.open(page_path, width=1280, height=800, probe=CUT_LABELS)
        assert page.probe == [], f"{page_path.name}: labels cut at 1280 px: {page.probe}"


def class_folder(graded, tmp_path):
    """A class folder as a batch leaves it: the students' folders beside summary.html,
    gradebook.csv, gradebook.sqlite and grader.log."""
    out = tmp_path / "class"
    out.mkdir()
    for name in ("good", "crash"):
        shutil.copytree(graded[name], out / name)
    assert cli.main(["summary", str(out / "good"), str(out / "crash"), "--out", str(out)]) == 0
    ledger.Ledger(out / "gradebook.sqlite").close()  # a batch's gradebook, recording none of these two
    (out / "grader.log").write_text("")
    return out


def test_summary_of_a_class_glob_skips_the_class_files(graded, tmp_path, capsys):
    out = class_folder(graded, tmp_path)
    capsys.readouterr()
    everything = sorted(str(p) for p in out.iterdir() if not p.name.startswith("."))  # what `class/*` expands to
    assert cli.main(["summary", *everything, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    book = (out / files.GRADEBOOK).read_text().splitlines()
    assert len(book) == 1 + 2, book
    for name in ("gradebook.csv", "summary.html", "gradebook.sqlite", "grader.log"):
        assert f"skipped {out / name}: a file, not a graded folder" in printed
        assert name not in (out / files.SUMMARY).read_text().split("<h2>Students</h2>")[1]


def test_rescore_of_a_class_glob_rescores_the_students_and_skips_the_files(graded, tmp_path, capsys):
    out = class_folder(graded, tmp_path)
    (out / "never-graded").mkdir()
    files.write_error(out / "never-graded", "repository not found")
    capsys.readouterr()
    everything = sorted(str(p) for p in out.iterdir() if not p.name.startswith("."))
    code = cli.main(["rescore", *everything])
    captured = capsys.readouterr()
    assert code == 1, captured.err  # the crash fails; nothing is a usage error
    assert "skipped" in captured.err and f"{out / 'gradebook.csv'}: a file" in captured.err
    assert "the batch could not grade it (repository not found)" in captured.err
    assert re.search(r"cannot", captured.err) is None, captured.err


def test_a_damaged_gradebook_beside_the_folders_is_named_not_an_internal_error(graded, tmp_path, capsys):
    out = tmp_path / "class"
    shutil.copytree(graded["crash"], out / "crash")
    (out / "gradebook.sqlite").write_bytes(b"SQLite format 3\x00")  # a header and nothing else
    capsys.readouterr()
    assert cli.main(["summary", str(out / "crash"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'gradebook.sqlite'} is not a gradebook the grader can read" in err and "internal error" not in err, err
