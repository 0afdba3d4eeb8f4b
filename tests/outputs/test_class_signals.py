"""Signals across a class: identical or near-identical code (comments, layout and names aside)
named in the class summary and in the instructor reports of the students concerned."""

import json

import pytest

from grader import cli
from grader.evidence import code_fingerprint
from tests.commands.batch_helpers import write_roster
from tests.helpers import ROOT, SUBMISSIONS

ORIGINAL = '''"""Mean of the scores, written for the output folder."""
import json, os


def mean(values):
    total = 0
    for value in values:
        total += value  # running sum
    return total / len(values)


scores = [0.5, 0.7, 0.9]
print(json.dumps({"mean": mean(scores), "out": os.environ.get("GRADER_OUTPUT_DIR")}))
'''

# The same program, every name changed, other comments, other layout.
RENAMED = """import json, os
# an average over the accuracies
def average(xs):
  acc = 0
  for x in xs:
    acc += x
  return acc / len(xs)
accuracies = [0.5, 0.7, 0.9]   # three runs
print(json.dumps({"mean": average(accuracies), "out": os.environ.get("GRADER_OUTPUT_DIR")}))
"""

# Same task, written independently.
OTHER = """import statistics, sys
values = [float(a) for a in sys.argv[1:]] or [0.5, 0.7, 0.9]
print("median", statistics.median(values), "largest", max(values))
"""


def submission(root, name, code):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "train.py").write_text(code)
    return folder


def test_renamed_and_recommented_code_has_the_same_fingerprint_and_other_code_does_not(tmp_path):
    prints = {
        name: code_fingerprint.of_folder(submission(tmp_path, name, code)) for name, code in (("a", ORIGINAL), ("b", RENAMED), ("c", OTHER))
    }
    assert prints["a"]["digest"] == prints["b"]["digest"] and prints["a"]["files"] == ["train.py"]
    assert code_fingerprint.similarity(prints["a"], prints["c"]) < 0.2
    assert code_fingerprint.groups(prints) == [{"students": ["a", "b"], "identical": True, "least": 1.0}]


def test_a_renamed_copy_with_one_changed_line_is_near_identical_and_two_real_solutions_are_not(tmp_path):
    good = (SUBMISSIONS / "good" / "train.py").read_text()
    renamed = good
    for old, new in (("model", "net"), ("trainable", "params"), ("encode", "to_batch"), ("tokenizer", "tok"), ("state", "moments")):
        renamed = renamed.replace(old, new)
    edited = renamed.replace("range(2)", "range(3)").replace("# must be imported before transformers / peft", "")
    prints = {
        "good": code_fingerprint.of_folder(SUBMISSIONS / "good"),
        "copy": code_fingerprint.of_folder(submission(tmp_path, "copy", edited)),
        "reference": code_fingerprint.of_folder(ROOT / "reference"),  # the same task, written apart
    }
    near = code_fingerprint.groups(prints)
    assert len(near) == 1 and near[0]["students"] == ["copy", "good"] and not near[0]["identical"]
    assert 0.8 <= near[0]["least"] < 1.0


def test_a_notebook_and_a_script_of_the_same_code_match(tmp_path):
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, writes

    folder = tmp_path / "nb"
    folder.mkdir()
    cells = [
        new_markdown_cell("# mean"),
        new_code_cell("%matplotlib inline\n" + ORIGINAL.split("\n\n\n")[0]),
        new_code_cell(ORIGINAL.split("\n\n\n", 1)[1]),
    ]
    (folder / "homework.ipynb").write_text(writes(new_notebook(cells=cells)))
    script = code_fingerprint.of_folder(submission(tmp_path, "py", ORIGINAL))
    assert code_fingerprint.similarity(code_fingerprint.of_folder(folder), script) >= 0.8


@pytest.mark.slow
def test_a_batch_names_the_copied_pair_in_the_summary_and_their_instructor_reports_and_not_the_third(tmp_path):
    roster = write_roster(
        tmp_path / "roster.csv",
        [
            ("Ada", str(submission(tmp_path / "subs", "ada", ORIGINAL))),
            ("Bob", str(submission(tmp_path / "subs", "bob", RENAMED))),
            ("Cy", str(submission(tmp_path / "subs", "cy", OTHER))),
        ],
    )
    out = tmp_path / "class"
    cli.main(["batch", str(roster), "--profile", "tiny", "--out", str(out), "--jobs", "1"])
    assert all(json.loads((out / n / "evidence" / "evidence.json").read_text())["run"]["exit_code"] == 0 for n in ("Ada", "Bob", "Cy"))
    summary = (out / "summary.html").read_text()
    section = summary[summary.index('id="similar-code"') : summary.index("<h2>Students</h2>")]
    assert "<li>Ada, Bob: identical</li>" in section and "Cy" not in section
    ada, bob, cy = ((out / n / "report-instructor.html").read_text() for n in ("Ada", "Bob", "Cy"))
    assert 'id="class-signals"' in ada and "code identical to Bob" in ada
    assert "code identical to Ada" in bob
    assert 'id="class-signals"' not in cy
    for name in ("Ada", "Bob"):  # the student's own report says nothing of it
        assert "class-signals" not in (out / name / "report.html").read_text()
