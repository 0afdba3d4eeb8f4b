"""Device selection (with fake device files) and the diagnoses of known failures, each from a
real run of the failing code."""

import json
from pathlib import Path

import pytest

from grader import cli
from grader.checks.judgement import FAILED
from grader.errors import CannotGrade
from grader.evidence import diagnose
from grader.run import devices, environment, runner, sandbox
from tests.helpers import SUBMISSIONS


def test_asking_for_a_device_the_machine_lacks_stops_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRADER_DEVICE_ROOT", str(tmp_path / "dev"))
    (tmp_path / "dev").mkdir()
    code = cli.main([str(SUBMISSIONS / "good"), "--profile", "tiny", "--device", "ascend", "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "Ascend requested but this machine has none" in err and "--device cpu" in err
    assert not (tmp_path / "out" / "evidence" / "logs").exists()  # nothing ran


def test_device_ids_select_the_card_through_visible_devices(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_DEVICE_ROOT", str(tmp_path))
    for name in ("davinci0", "davinci3", "davinci_manager", "nvidia1", "nvidiactl"):
        (tmp_path / name).write_text("")
    ascend = devices.check(devices.parse("ascend:3"))
    env = devices.environment(ascend, tmp_path / "private")
    assert env["DEVICE_TARGET"] == "Ascend" and env["ASCEND_RT_VISIBLE_DEVICES"] == "3" and env["DEVICE_ID"] == "0"
    assert env["ASCEND_WORK_PATH"].startswith(str(tmp_path / "private"))
    assert devices.check(devices.parse("npu")).ids == (0,)
    gpu = devices.check(devices.parse("gpu", "1"))
    assert devices.environment(gpu, tmp_path)["CUDA_VISIBLE_DEVICES"] == "1"
    with pytest.raises(CannotGrade, match="Ascend 5 requested but this machine has only 0,3"):
        devices.check(devices.parse("ascend", "5"))
    with pytest.raises(CannotGrade, match="unknown device 'tpu'"):
        devices.parse("tpu")
    assert devices.environment(devices.parse("cpu"), tmp_path) == {
        "DEVICE_TARGET": "CPU",
        "CUDA_VISIBLE_DEVICES": "",
        "MS_DEV_LAUNCH_BLOCKING": "1",
    }


def grade_code(tmp_path, code):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "train.py").write_text(code)
    out = tmp_path / "out"
    status = cli.main([str(folder), "--profile", "tiny", "--out", str(out)])
    results = json.loads((out / "results.json").read_text())
    return status, {t["tags"][0]: t for t in results["tests"]}


@pytest.mark.slow
@pytest.mark.parametrize(
    "code, expected",
    [
        ("import mindnlp\nfrom mindnlp.core import nn, optim\n", "written for the MindNLP 0.4 API (mindnlp.core)"),
        (
            "import mindnlp\nfrom mindnlp.common.optimization import get_linear_schedule_with_warmup\n",
            "written for the MindNLP 0.4 API (mindnlp.common)",
        ),
        ("from peft import IA3Config\nimport mindnlp\n", "peft imported before mindnlp: put `import mindnlp` first"),
    ],
)
def test_known_failures_are_explained_in_the_run_check(tmp_path, code, expected):
    status, tests = grade_code(tmp_path, code)
    assert status == 1 and tests["run"]["extra_data"]["grader_status"] == FAILED
    assert expected in tests["run"]["output"]
    if "0.4 API" in expected:
        assert "--python" in tests["run"]["output"]


def test_out_of_memory_is_explained(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("data = [bytearray(256 * 1024 ** 2) for _ in range(16)]\n")
    env = environment.student_env(tmp_path / "private", {}, "CPU", 0)
    record = runner.run_script(script, tmp_path, env, 60, tmp_path / "logs", sandbox=sandbox.Sandbox(memory_bytes=1 * sandbox.GiB))
    found = diagnose.diagnose(Path(record.stderr_path).read_text(), record.exit_code, record.timed_out)
    assert record.exit_code == 1 and found and found[0].startswith("out of memory: lower the batch size")


@pytest.mark.parametrize(
    "stderr, advice",
    [  # the messages MindNLP 0.5.1 gives on the CPU (the MindNLP findings, "More traps")
        ("AttributeError: module 'mindtorch.autograd' has no attribute 'profiler'", "call model.zero_grad()"),
        ("RuntimeError: No implementation for function: addcdiv on cpu", "torch.optim optimizers do not run on the CPU"),
        ("RuntimeError: ... move_to ... got to:GPU, device target: CPU\n- C++ Call Stack:", "moves the model or tensors to a GPU"),
        ("AttributeError: module 'mindtorch._C' has no attribute '_get_privateuse1_backend_name'", "cell's last expression"),
        ("- Dataset Pipeline Error Message:\nTensor must have device", "mindnlp.dataset (MindSpore) tensors"),
    ],
)
def test_mindnlp_05_traps_get_advice_a_student_can_act_on(stderr, advice):
    found = diagnose.diagnose(f"Traceback (most recent call last):\n{stderr}\n", 1, False)
    assert len(found) == 1 and advice in found[0]
    assert diagnose.diagnose(f"warning: {stderr}\n", 0, False) == []  # a run that went on despite it is not diagnosed


@pytest.mark.slow
def test_optimizer_zero_grad_is_diagnosed_in_a_real_run(tmp_path):
    (tmp_path / "train.py").write_text(
        "import mindnlp\nimport torch\nw = torch.nn.Parameter(torch.ones(2))\nopt = torch.optim.SGD([w], lr=0.1)\nopt.zero_grad()\n"
    )
    out = tmp_path / "out"
    assert cli.main([str(tmp_path / "train.py"), "--profile", "tiny", "--out", str(out)]) == 1
    message = json.loads((out / "results.json").read_text())
    run = next(t for t in message["tests"] if t["tags"][0] == "run")
    assert "call model.zero_grad()" in run["output"]
