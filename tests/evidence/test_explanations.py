"""Right verdict, right explanation: each message a failed run gets names its real cause. The
diagnoses are tested on error texts that the real libraries produce here (MindSpore, datasets,
huggingface_hub, transformers), and each case is a submission (submissions/explain-*) graded
end to end through `grade`, its verdict and message read back from what the grader wrote."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from grader.checks.judgement import FAILED, PASSED
from grader.course.mindnlp_env import OFFLINE_ENV
from grader.evidence import diagnose
from grader.run import error_text, notebook
from tests.helpers import SUBMISSIONS, grade

SAVE_ADVICE = "call model.save_pretrained"
CRASHED_BEFORE_SAVING = "the run failed (exit status 1) before it saved an adapter"


def python_error(code: str, cwd, env: dict | None = None) -> str:
    """What a real Python process printed on stderr running `code` (it is expected to fail)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode != 0, done.stdout
    return done.stderr


@pytest.fixture(scope="module")
def mindspore_message(tmp_path_factory) -> str:
    """The message of a real MindSpore shape error, as a notebook's error output holds it (evalue)."""
    code = """
        import numpy as np
        from mindspore import Tensor, ops
        try:
            ops.matmul(Tensor(np.ones((2, 3), np.float32)), Tensor(np.ones((2, 3), np.float32))).asnumpy()
        except RuntimeError as exc:
            raise SystemExit("EVALUE<<" + str(exc) + ">>EVALUE")
    """
    stderr = python_error(code, tmp_path_factory.mktemp("ms"))
    return stderr.split("EVALUE<<", 1)[1].split(">>EVALUE", 1)[0]


def test_mindspores_cpp_call_stack_is_left_out_of_a_notebook_message(mindspore_message):
    assert "- C++ Call Stack:" in mindspore_message and "CheckMatMulShapes" in mindspore_message  # what MindSpore says
    record = {
        "status": "failed",
        "failed": {"cell": 2, "line": 3, "source": "scores = ops.matmul(a, b)", "ename": "RuntimeError", "evalue": mindspore_message},
    }
    found = diagnose.diagnose("", 1, False, notebook.summary(record, False))
    assert found == [
        "cell In [2], line 3 (`scores = ops.matmul(a, b)`) raised RuntimeError: "
        "For 'MatMulExt' op, shape1[-1] must be equal to shape2[-2], but got 3 and 2."
    ]
    assert error_text.readable(mindspore_message) == "For 'MatMulExt' op, shape1[-1] must be equal to shape2[-2], but got 3 and 2."


def test_a_push_to_hub_offline_is_named_an_upload_and_a_download_stays_a_download(tmp_path):
    """PeftModel.push_to_hub is transformers' PushToHubMixin.push_to_hub: its real error under the
    grader's offline environment, beside a real offline download's."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)} | OFFLINE_ENV
    pushed = python_error(
        """
        from transformers.utils import PushToHubMixin
        class Adapter(PushToHubMixin):
            def save_pretrained(self, folder, **kwargs):
                open(folder + "/adapter_config.json", "w").write("{}")
        Adapter().push_to_hub("alice/roberta-large-ia3-mrpc")
        """,
        tmp_path,
        env,
    )
    downloaded = python_error('from huggingface_hub import hf_hub_download\nhf_hub_download("roberta-base", "config.json")', tmp_path, env)
    upload = diagnose.diagnose(pushed, 1, False)
    assert len(upload) == 1 and upload[0].startswith("uploads to the Hugging Face hub (push_to_hub")
    assert 'model.save_pretrained(os.environ["GRADER_OUTPUT_DIR"])' in upload[0]
    download = diagnose.diagnose(downloaded, 1, False)
    assert len(download) == 1 and download[0].startswith("tried to download from the internet")


def test_a_missing_data_file_is_named_with_where_the_grader_serves_the_data(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)} | OFFLINE_ENV
    opened = python_error('open("./data/mrpc/train.tsv")', tmp_path)
    pandas = python_error('import pandas\npandas.read_csv("data/mrpc/dev.tsv", sep="\\t")', tmp_path)
    datasets = python_error(
        'import datasets\ndatasets.load_dataset("csv", data_files="./glue/MRPC/train.tsv", delimiter="\\t")', tmp_path, env
    )
    config = python_error('open("roberta-large-ia3-mrpc/adapter_config.json")', tmp_path)  # not data
    for stderr, path in ((opened, "./data/mrpc/train.tsv"), (pandas, "data/mrpc/dev.tsv"), (datasets, f"{tmp_path}/./glue/MRPC/train.tsv")):
        found = diagnose.diagnose(stderr, 1, False)
        assert len(found) == 1 and found[0].startswith(f"the code reads {path}, which the run does not have"), (stderr[-500:], found)
        assert "$GRADER_TRAIN_FILE" in found[0] and 'load_dataset("glue", "mrpc")' in found[0]
    assert diagnose.diagnose(config, 1, False) == []


def test_a_crash_before_the_save_is_not_told_to_call_save_pretrained(tmp_path):
    graded = grade(SUBMISSIONS / "explain-missing-data", tmp_path / "out")
    assert graded.code == 1 and graded.statuses["run"] == graded.statuses["adapter_type"] == FAILED
    assert "FileNotFoundError: [Errno 2] No such file or directory: './data/mrpc/train.tsv'" in graded.messages["run"]
    assert "the code reads ./data/mrpc/train.tsv, which the run does not have" in graded.messages["run"]
    assert CRASHED_BEFORE_SAVING in graded.messages["adapter_type"] and SAVE_ADVICE not in graded.messages["adapter_type"]


def test_a_run_that_ends_normally_without_saving_is_told_to_call_save_pretrained(tmp_path):
    (tmp_path / "train.py").write_text('print("trained, but forgot to save")\n')
    graded = grade(tmp_path / "train.py", tmp_path / "out")
    assert graded.statuses["run"] == PASSED and graded.statuses["adapter_type"] == FAILED
    assert SAVE_ADVICE in graded.messages["adapter_type"] and "before it saved" not in graded.messages["adapter_type"]


def test_a_run_stopped_at_the_budget_is_told_so_not_to_save(tmp_path):
    (tmp_path / "train.py").write_text("while True:\n    pass\n")
    graded = grade(tmp_path / "train.py", tmp_path / "out", "--budget", "5")
    assert graded.evidence["run"]["timed_out"]
    assert "the run was stopped at the 5 s budget before it saved an adapter" in graded.messages["adapter_type"]
    assert SAVE_ADVICE not in graded.messages["adapter_type"]


def test_an_upload_to_the_hub_is_explained_as_an_upload(tmp_path):
    graded = grade(SUBMISSIONS / "explain-upload-to-hub", tmp_path / "out")
    assert graded.code == 1 and graded.statuses["run"] == FAILED
    assert "OfflineModeIsEnabled" in graded.messages["run"]
    assert "uploads to the Hugging Face hub (push_to_hub, upload_folder" in graded.messages["run"]
    assert "tried to download" not in graded.messages["run"]
    assert CRASHED_BEFORE_SAVING in graded.messages["adapter_type"]


def test_a_notebooks_mindspore_error_reads_without_the_cpp_call_stack(tmp_path):
    graded = grade(SUBMISSIONS / "explain-mindspore-error", tmp_path / "out")
    assert graded.code == 1 and graded.statuses["run"] == FAILED
    message = graded.messages["run"]
    assert "cell In [2], line 3 (`scores = ops.matmul(features, weights).asnumpy()`) raised RuntimeError: For 'MatMulExt' op" in message
    assert "C++ Call Stack" in graded.evidence["notebook"]["failed"]["evalue"]  # MindSpore's own message has it
    assert "C++" not in message and "CheckMatMulShapes" not in message and "----" not in message
    assert "CheckMatMulShapes" not in (graded.out / "results.json").read_text()
    facts = graded.report[graded.report.index("What the grade rests on") : graded.report.index("<h2>Metrics")]
    assert "(cell In [2], line 3" in facts and "CheckMatMulShapes" not in facts  # the run's ending, as a fact


def test_several_adapters_are_named_in_the_reports_with_the_rule_that_chose(tmp_path):
    graded = grade(SUBMISSIONS / "explain-several-adapters", tmp_path / "out")
    graded_at, others = "$GRADER_OUTPUT_DIR/epoch-2", ["$GRADER_OUTPUT_DIR/epoch-1", "submission folder/best-adapter"]
    assert graded.evidence["adapter_found_at"] == graded_at and graded.evidence["other_adapters"] == others
    assert f"adapter at {graded_at}" in graded.messages["adapter_type"]
    report = graded.report
    section = report[report.index('id="adapters"') : report.index("<h2>Metrics")]
    assert "3 adapters" in section and all(path in section.replace("<wbr>", "") for path in [graded_at, *others])
    assert "newest adapter_config.json first" in section
    markdown = (graded.out / "result.md").read_text()
    assert "Graded the adapter at $GRADER\\_OUTPUT\\_DIR/epoch-2, one of 3 found" in markdown
    assert "submission folder/best-adapter" in markdown and "newest adapter\\_config.json first" in markdown
    instructor = (graded.out / "report-instructor.html").read_text()
    assert 'id="adapters"' in instructor


@pytest.mark.slow
def test_displaying_the_peft_model_is_explained_without_recommending_print(tmp_path):
    """`model;` and an assignment run (cells 2 and 3); the cell whose last expression is `model`
    fails in the display, and the advice names what works instead of print(model)."""
    graded = grade(SUBMISSIONS / "explain-display-model", tmp_path / "out")
    assert graded.code == 1 and graded.statuses["run"] == FAILED
    assert graded.evidence["notebook"]["failed"]["cell"] == 4 and graded.evidence["notebook"]["failed"]["during"] == "display"
    message = graded.messages["run"]
    assert "while displaying its last expression (`model`)" in message
    assert "end such a cell with `;` or an assignment" in message and "model.print_trainable_parameters()" in message
    assert "print(model) or a semicolon" not in message and "do not print the model" in message
    assert CRASHED_BEFORE_SAVING in graded.messages["adapter_type"] and SAVE_ADVICE not in graded.messages["adapter_type"]


@pytest.mark.slow
def test_print_of_the_peft_model_fails_the_same_way_and_gets_the_same_advice(tmp_path):
    graded = grade(SUBMISSIONS / "explain-print-model", tmp_path / "out")
    assert graded.code == 1 and graded.statuses["run"] == FAILED
    message = graded.messages["run"]
    assert "AttributeError: module 'mindtorch._C' has no attribute '_get_privateuse1_backend_name'" in message
    assert "print(model), repr, str and a notebook cell's last expression all build the same text" in message
    assert "trainable params: 4,930" in graded.stdout  # print_trainable_parameters ran just before
    assert CRASHED_BEFORE_SAVING in graded.messages["adapter_type"]
