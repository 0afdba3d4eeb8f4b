"""A submission folder that holds the grader's earlier results is graded as if they were not
there: they are never copied into the run, so their kept adapter is never taken for the student's."""

from grader.intake import workspace


def test_result_folders_are_left_out_of_the_private_copy(tmp_path):
    sub = tmp_path / "sub"
    for folder in ("grade-results/sub/evidence/adapter", "out1/evidence/adapter", "ia3_out"):
        (sub / folder).mkdir(parents=True)
        (sub / folder / "adapter_config.json").write_text("{}")
    (sub / "out1" / "scored.json").write_text("{}")
    (sub / "train.py").write_text("print('hi')\n")
    ws = workspace.prepare(sub, tmp_path / "work")
    assert ws.entry.name == "train.py"
    assert sorted(p.name for p in ws.root.iterdir()) == ["ia3_out", "train.py"]  # the student's own folder stays
