"""Files a run leaves are the student's: links to host files, lying weights, hostile JSON and
deep trees, planted in the output or the notebook folder (submissions/hostile/*), graded through
the real `grade` command in a child process. Checked from the host: no secret reaches anything
the grader wrote, the grader's own memory stays small, and the grading fails (exit 1, not 3)
with the reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.checks.judgement import FAILED
from grader.evidence import weights_files
from grader.intake import untrusted
from grader.run import notebook
from tests import helpers
from tests.helpers import MRPC_DIR, PEAK_KB, SUBMISSIONS

HOSTILE = SUBMISSIONS / "hostile"
GRADE = f"import sys\nfrom grader import cli\ncode = cli.main(sys.argv[2:])\nopen(sys.argv[1], 'w').write(str({PEAK_KB}))\nsys.exit(code)\n"
GRADER_MEMORY_KB = 1024**2  # 1 GiB; the lying checkpoint alone claims 1 GB, and loading it took 9.2 GB


def grade_child(folder: Path, out: Path, timeout: float = 420) -> tuple[helpers.Graded, int]:
    """`grade FOLDER --profile tiny --out OUT` in a child process: (what it wrote, its own peak
    resident memory in KiB). A timeout fails the test instead of hanging it."""
    rss = out.parent / f"{out.name}.maxrss"
    done = subprocess.run(
        [sys.executable, "-c", GRADE, str(rss), str(folder), "--profile", "tiny", "--out", str(out), "--data", str(MRPC_DIR)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode != 3, done.stderr[-3000:]
    return helpers.Graded(done.returncode, out), int(rss.read_text())


@pytest.fixture
def stage(tmp_path):
    """A 0600 secret on the host, a host folder with an adapter holding it, and a line of the
    labelled test split: none of them may appear in anything the grader writes."""
    token = f"SECRET-{os.urandom(6).hex()}"
    secret = tmp_path / "secret.txt"
    secret.write_text(json.dumps({"peft_type": "IA3", "task_type": "SEQ_CLS", "note": token}))
    secret.chmod(0o600)
    host_adapter = tmp_path / "host-adapter"
    host_adapter.mkdir()
    shutil.copy(secret, host_adapter / "adapter_config.json")
    labelled = MRPC_DIR / "test.jsonl"
    marker = json.loads(labelled.read_text().splitlines()[0])["sentence1"]
    targets = {"secret": str(secret), "labelled": str(labelled), "host_adapter": str(host_adapter)}
    return {"token": token, "marker": marker, "targets": targets}


def submission(tmp_path: Path, case: str, targets: dict, variant: str | None = None) -> Path:
    folder = tmp_path / case
    shutil.copytree(HOSTILE / case, folder)
    (folder / "targets.json").write_text(json.dumps(targets))
    if variant:
        (folder / "variant.txt").write_text(variant)
    return folder


def leaked(out: Path, *secrets: str) -> list[str]:
    """Files the grader wrote that hold any of `secrets`."""
    return [str(p) for p in out.rglob("*") if p.is_file() and any(s.encode() in p.read_bytes() for s in secrets)]


def test_links_planted_in_the_output_are_never_followed(tmp_path, stage):
    done, _ = grade_child(submission(tmp_path, "planted-links", stage["targets"]), tmp_path / "out")
    assert done.code == 1
    assert leaked(done.out, stage["token"], stage["marker"]) == []
    ignored = {a["path"]: a["reason"] for a in done.evidence["ignored_adapters"]}
    assert "is a link, not a regular file" in ignored["$GRADER_OUTPUT_DIR/ia3"]
    assert done.statuses["adapter_type"] == FAILED and "adapter_config.json is a link" in done.messages["adapter_type"]
    assert not any("linked-adapter" in path for path in ignored)  # a linked folder is never entered
    assert not (done.out / "evidence" / "adapter").exists()


def test_notebook_record_and_executed_copy_replaced_by_links(tmp_path, stage):
    done, _ = grade_child(submission(tmp_path, "notebook-links", stage["targets"]), tmp_path / "out")
    assert done.code == 1
    assert leaked(done.out, stage["token"], stage["marker"]) == []
    assert done.evidence["notebook"]["status"] == "unreadable" and "is a link" in done.evidence["notebook"]["error"]
    assert not (done.logs / notebook.EXECUTED).exists()
    assert any("executed notebook was not kept: executed.ipynb is a link" in d for d in done.evidence["diagnoses"])


def test_a_checkpoint_claiming_a_huge_tensor_is_refused_before_any_allocation(tmp_path, stage):
    done, peak_kb = grade_child(submission(tmp_path, "lying-weights", stage["targets"], "adapter"), tmp_path / "out")
    assert done.code == 1 and peak_kb < GRADER_MEMORY_KB, f"the grader peaked at {peak_kb:,} KiB"
    message = done.messages["adapter_type"]
    assert done.statuses["adapter_type"] == FAILED and "adapter_model.ckpt is not a readable MindSpore checkpoint" in message
    assert "claims shape [25000, 10000] of Float32 (1,000,000,000 bytes) but the file holds 8 bytes" in message


def test_full_model_files_with_lying_headers_are_described_without_loading(tmp_path, stage):
    done, peak_kb = grade_child(submission(tmp_path, "lying-weights", stage["targets"], "full-model"), tmp_path / "out")
    assert done.code == 1 and peak_kb < GRADER_MEMORY_KB, f"the grader peaked at {peak_kb:,} KiB"
    problems = {m["file"]: m.get("problem", "") for m in done.evidence["full_models"]}
    assert "claims shape [25000, 10000]" in problems["model.ckpt"]
    assert "which the file does not hold" in problems["model.safetensors"]
    assert "its header claims 4,611,686,018,427,387,904 bytes" in problems["model-00001-of-00002.safetensors"]


@pytest.mark.parametrize(
    "variant, reason",
    [("deep", "adapter_config.json nests 100,001 levels deep"), ("digits", "adapter_config.json holds an integer of 5,000 digits")],
)
def test_hostile_json_in_the_adapter_config_is_the_students_problem(tmp_path, stage, variant, reason):
    done, _ = grade_child(submission(tmp_path, "deep-json", stage["targets"], variant), tmp_path / "out")
    assert done.code == 1
    assert done.statuses["adapter_type"] == FAILED and reason in done.messages["adapter_type"]


def test_three_thousand_nested_output_folders_and_a_fifo(tmp_path, stage):
    done, _ = grade_child(submission(tmp_path, "deep-output", stage["targets"]), tmp_path / "out")
    assert done.code == 1
    assert any("folders nested more than 32 deep" in s for s in done.evidence["searched"])
    (fifo,) = done.evidence["full_models"]
    assert fifo["file"] == "model.safetensors" and "FIFO" in fifo["problem"]
    assert "nested more than 32 deep" in done.messages["adapter_type"]


# The readers themselves, on real files.


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"[" * 50_000 + b"]" * 50_000, "nests 50,000 levels deep"),
        (b'{"status": ' + b"9" * 5000 + b"}", "integer of 5,000 digits"),
        (b"[1, 2]", "holds a JSON list"),
        (b"\xff\xfe", "is not UTF-8"),
        (b'{"status": "completed"', "is not valid JSON"),
    ],
)
def test_the_notebook_record_is_read_as_the_students_word(tmp_path, content, reason):
    (tmp_path / notebook.RECORD).write_bytes(content)
    record = notebook.read(tmp_path)
    assert record["status"] == "unreadable" and reason in record["error"]
    assert "could not be read" in notebook.summary(record, timed_out=False)


def test_a_fifo_or_a_link_in_place_of_the_record_never_blocks_or_leaks(tmp_path):
    os.mkfifo(tmp_path / notebook.RECORD)  # opening it for reading would wait for a writer forever
    assert "is a FIFO" in notebook.read(tmp_path)["error"]
    (tmp_path / notebook.RECORD).unlink()
    (tmp_path / notebook.RECORD).symlink_to("/etc/passwd")
    assert "is a link" in notebook.read(tmp_path)["error"]
    (tmp_path / "inner").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "inner")
    (tmp_path / "inner" / "x.json").write_text("{}")
    with pytest.raises(untrusted.Unreadable, match="linked is a link or not a folder"):
        untrusted.read_bytes(tmp_path, "linked/x.json", 100)


def test_record_fields_of_any_type_give_a_summary_not_a_crash():
    record = {"failed": {"cell": [1], "source": {"a": 1}, "ename": None, "evalue": 7 * "x" * 100, "line": "3"}, "running": "no"}
    assert notebook.summary(record, timed_out=True).startswith("cell In [[1]], line 3")


SAVE = """
import sys, numpy as np, mindspore
arrays = {"small.ia3_l": np.arange(6, dtype=np.float32).reshape(2, 3), "big.weight": np.random.rand(400, 500).astype(np.float32),
          "half": np.ones(5, dtype=np.float16), "scalar": np.float32(2.5)}
mindspore.save_checkpoint([{"name": k, "data": mindspore.Tensor(v)} for k, v in arrays.items()], sys.argv[1], crc_check=True)
loaded = mindspore.load_checkpoint(sys.argv[1])
np.savez(sys.argv[2], **{k: p.asnumpy() for k, p in loaded.items()})
"""


def test_checkpoints_mindspore_wrote_are_read_as_mindspore_reads_them(tmp_path):
    """Including a tensor over 512 KB (saved in slices) and the crc trailer."""
    subprocess.run([sys.executable, "-c", SAVE, str(tmp_path / "a.ckpt"), str(tmp_path / "a.npz")], check=True, capture_output=True)
    expected = np.load(tmp_path / "a.npz")
    read = weights_files.read_ckpt((tmp_path / "a.ckpt").read_bytes())
    assert sorted(read) == sorted(expected.files)
    for name in expected.files:
        assert read[name].dtype == expected[name].dtype and np.array_equal(read[name], expected[name]), name


def test_safetensors_headers_are_checked_against_the_file(tmp_path):
    from safetensors.numpy import save_file

    save_file({"a": np.zeros((3, 4), np.float32), "b": np.ones(2, np.int64)}, str(tmp_path / "w.safetensors"))
    data = (tmp_path / "w.safetensors").read_bytes()
    assert weights_files.safetensors_header(data, len(data)) == {"a": [3, 4], "b": [2]}
    with pytest.raises(untrusted.Unreadable, match="which the file does not hold"):
        weights_files.safetensors_header(data, len(data) - 4)
