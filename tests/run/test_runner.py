import sys
import time
from pathlib import Path

import pytest

from grader.run import environment, runner
from tests.helpers import alive, wait_for


@pytest.mark.slow  # waits out a budget
def test_budget_ends_the_script_and_the_processes_it_started(tmp_path):
    script = tmp_path / "train.py"
    pidfile = tmp_path / "child.pid"
    script.write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, "
        "signal.SIG_IGN); time.sleep(600)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    env = environment.student_env(tmp_path / "private", {}, "CPU", 0)
    started = time.monotonic()
    record = runner.run_script(script, tmp_path, env, budget=10, logs=tmp_path / "logs")  # time to start its child when loaded
    assert record.timed_out and record.exit_code is None
    assert time.monotonic() - started < 10 + runner.GRACE_SECONDS + 30
    child = int(pidfile.read_text())
    # it ignored SIGTERM, so SIGKILL ended it (delivered asynchronously)
    wait_for(lambda: not alive(child), 5, "the child that ignored SIGTERM to die", poll=0.05)


def test_student_environment_is_scrubbed_and_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "secret")
    script = tmp_path / "train.py"
    script.write_text("import json, os; print(json.dumps(dict(os.environ)))")
    env = environment.student_env(tmp_path / "private", {"GRADER_OUTPUT_DIR": "/out"}, "CPU", 7)
    record = runner.run_script(script, tmp_path, env, budget=30, logs=tmp_path / "logs")
    assert record.exit_code == 0
    seen = __import__("json").loads(Path(record.stdout_path).read_text())
    assert "GITHUB_TOKEN" not in seen
    assert seen["HF_HUB_OFFLINE"] == "1" and seen["GRADER_OUTPUT_DIR"] == "/out" and seen["DEVICE_TARGET"] == "CPU"
    assert seen["HOME"].startswith(str(tmp_path / "private"))
    assert record.command[0] == sys.executable
