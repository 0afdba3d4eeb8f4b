"""The class summary points the instructor at students whose adapters are bit-identical."""

import html
import json
import shutil

from grader.outputs import summary


def as_student(folder, name, dest):
    copy = shutil.copytree(folder, dest)
    scored = json.loads((copy / "scored.json").read_text())
    scored["result"]["student"] = name
    (copy / "scored.json").write_text(json.dumps(scored))
    return copy


def test_bit_identical_adapters_are_pointed_out(graded, tmp_path):
    ada = as_student(graded["good"], "Ada", tmp_path / "ada")
    bob = as_student(graded["good"], "Bob", tmp_path / "bob")  # handed Ada's adapter around
    path, rows = summary.write([ada, bob, graded["crash"]], tmp_path / "class")
    assert summary.identical_adapters(rows) == [["Ada", "Bob"]]
    text = html.unescape(path.read_text())
    assert "Identical adapters." in text and "Ada, Bob" in text
    alone, rows = summary.write([ada, graded["crash"]], tmp_path / "class-alone")
    assert summary.identical_adapters(rows) == [] and "Identical adapters" not in alone.read_text()


def test_informational_criteria_are_set_apart_in_the_pass_rates(graded, tmp_path):
    """The tiny profile's metric checks count for nothing: the class chart shows them in grey and
    says so, never in the red of a criterion the class failed."""
    path, rows = summary.write([graded["good"], graded["crash"]], tmp_path / "class")
    scored = json.loads((graded["good"] / "scored.json").read_text())
    informational = {c["check"] for c in scored["criteria"] if c["informational"]}
    counted = {c["check"] for c in scored["criteria"] if not c["informational"]}
    assert informational and counted  # the tiny profile has both kinds
    rates = {r["check"]: r for r in summary.view(rows, tmp_path / "class")["rates"]}
    assert {name for name, r in rates.items() if r["informational"]} == informational & set(rates)
    chart = str(summary.view(rows, tmp_path / "class")["rate_chart"])
    for name in informational & set(rates):  # in the chart when it was judged for anyone
        assert (f"{name} (informational)" in html.unescape(chart)) == (rates[name]["judged"] > 0)
    text = html.unescape(path.read_text())
    assert "(informational, 0 points)" in text
