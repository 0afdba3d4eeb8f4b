import os
import socket
import subprocess
import sys

import pytest

from grader.course import data
from grader.errors import CannotGrade
from tests.helpers import SUBMISSIONS


def test_jsonl_splits_have_glue_sizes(mrpc_dir):
    sizes = {split: len(data.load_split(mrpc_dir, split)) for split in data.SPLITS}
    assert sizes == {"train": 3668, "validation": 408, "test": 1725}
    assert set(data.load_split(mrpc_dir, "validation")[0]) >= {"sentence1", "sentence2", "label", "idx"}


def test_glue_tsv_reads_like_jsonl(tmp_path, mrpc_dir):
    rows = data.load_split(mrpc_dir, "validation")
    lines = ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"]  # GLUE writes raw quotes, no escaping
    lines += [f"{r['label']}\t{i}\t{i}\t{r['sentence1']}\t{r['sentence2']}" for i, r in enumerate(rows)]
    (tmp_path / "dev.tsv").write_text("\n".join(lines) + "\n")
    (tmp_path / "train.tsv").write_text("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta\tb\n")
    loaded = data.load_split(data.locate(tmp_path), "validation")
    assert [(r["sentence1"], r["sentence2"], r["label"]) for r in loaded] == [(r["sentence1"], r["sentence2"], r["label"]) for r in rows]


def test_unlabelled_glue_test_tsv_is_refused(tmp_path):
    (tmp_path / "test.tsv").write_text("index\t#1 ID\t#2 ID\t#1 String\t#2 String\n0\t1\t2\ta\tb\n")
    with pytest.raises(CannotGrade, match="no labels"):
        data.load_split(tmp_path, "test")


def test_missing_data_gets_one_message_naming_all_three_sources(monkeypatch, tmp_path):
    monkeypatch.delenv(data.ENV_VAR)
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(CannotGrade) as missing:
        data.locate()
    assert all(way in str(missing.value) for way in ("--data DIR", "GRADER_MRPC_DIR=DIR", "--data hub"))
    with pytest.raises(CannotGrade, match="neither train.jsonl nor train.tsv"):
        data.locate(tmp_path)
    with pytest.raises(CannotGrade, match="--data names .* not a folder"):
        data.locate(tmp_path / "nowhere")


def test_data_comes_from_the_flag_then_the_variable_then_the_hub_cache(monkeypatch, tmp_path, mrpc_dir):
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "cache"))
    other = tmp_path / "other"
    data.write_student_copy(mrpc_dir, other, train_limit=10)
    monkeypatch.setenv(data.ENV_VAR, str(mrpc_dir))
    assert data.locate(other) == other.resolve()
    assert data.locate() == mrpc_dir
    monkeypatch.delenv(data.ENV_VAR)
    data.write_student_copy(mrpc_dir, data.hub_copy(), train_limit=10)  # what an earlier `--data hub` left
    assert data.locate() == data.hub_copy()
    assert len(data.load_split(data.locate(), "train")) == 10


def test_student_copy_holds_no_test_label_and_honours_the_limit(tmp_path, mrpc_dir):
    files = data.write_student_copy(mrpc_dir, tmp_path, train_limit=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.jsonl", "train.jsonl", "validation.jsonl"]
    assert len(data.load_split(tmp_path, "train")) == 100
    assert files["validation"].read_text().count("\n") == 408
    given, held = data.load_split(tmp_path, "test"), data.load_split(mrpc_dir, "test")
    assert {row["label"] for row in given} == {-1} and {row["label"] for row in held} == {0, 1}
    assert [(r["sentence1"], r["sentence2"], r["idx"]) for r in given] == [(r["sentence1"], r["sentence2"], r["idx"]) for r in held]


def test_hub_source_fails_offline_with_a_way_out(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # set in this process once a test has loaded MindNLP
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(CannotGrade, match="HF_DATASETS_OFFLINE is set.*pass --data DIR with a local copy"):
        data.locate("hub")


def test_an_unreachable_hub_is_one_message_and_no_retries(tmp_path):
    """A hub that does not answer (here a closed local port) is named at once, with the way out,
    instead of the `datasets` client's five retries and their tracebacks."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "GRADER_"))}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{port}", GRADER_CACHE=str(tmp_path / "cache"))
    argv = [sys.executable, "-m", "grader.cli", str(SUBMISSIONS / "good"), "--data", "hub", "--out", str(tmp_path / "out")]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"the hub (http://127.0.0.1:{port}) cannot be reached from here" in done.stderr and "--data DIR" in done.stderr
    assert "Retry" not in done.stderr and "Traceback" not in done.stderr, done.stderr
