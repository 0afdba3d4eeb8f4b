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
