"""The limits that hold with and without the sandbox (capped logs, memory, file size), the
ending of leftovers without it, the sandbox's seccomp filter and path mapping, and the refusal
to grade where no sandbox can be built. What the sandbox keeps out: test_hostile_runs.py."""

import errno
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from grader.intake import workspace
from grader.run import devices, environment, execute, jail, private_area, runner, sandbox, seccomp
from grader.run.layout import Layout
from tests import helpers
from tests.helpers import alive, wait_for


def run(tmp_path, code, box=None, budget=30):
    script = tmp_path / "work" / "train.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(code)
    env = environment.student_env(tmp_path / "private", {}, "CPU", 0)
    return runner.run_script(script, script.parent, env, budget, tmp_path / "logs", sandbox=box or sandbox.Sandbox())


def test_background_process_that_outlives_its_parent_is_ended(tmp_path):
    pidfile = tmp_path / "daemon.pid"
    record = run(
        tmp_path,
        (
            "import subprocess, sys\n"
            "daemon = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True,\n"
            "                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
            f"open({str(pidfile)!r}, 'w').write(str(daemon.pid))\n"
            "print('parent leaves')\n"
        ),
    )
    assert record.exit_code == 0 and not record.timed_out
    daemon = int(pidfile.read_text())
    wait_for(lambda: not alive(daemon), 5, "the daemon to be ended", poll=0.05)
    assert record.ended_processes == 1


def test_output_is_capped_and_the_run_goes_on(tmp_path):
    box = sandbox.Sandbox(output_bytes=10_000)
    record = run(tmp_path, "import sys\nfor i in range(5000): print('x' * 99)\nprint('done', file=sys.stderr)\n", box)
    assert record.exit_code == 0
    kept = Path(record.stdout_path).read_text()
    assert len(kept) < 10_200 and "output cut at 10,000 bytes" in kept
    assert record.output_truncated == ["stdout"]
    assert Path(record.stderr_path).read_text() == "done\n"


def test_memory_and_file_size_limits_bind(tmp_path):
    box = sandbox.Sandbox(memory_bytes=2 * sandbox.GiB, file_bytes=1_000_000)
    record = run(
        tmp_path,
        (
            "import resource, signal\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "try:\n"
            "    big = bytearray(3 * 1024 ** 3); print('allocated')\n"
            "except MemoryError:\n"
            "    print('memory refused')\n"
            "try:\n"
            "    open('big.bin', 'wb').write(b'0' * 2_000_000); print('wrote')\n"
            "except OSError as exc:\n"
            "    print('file refused', exc.errno)\n"
        ),
        box,
    )
    out = Path(record.stdout_path).read_text()
    assert "memory refused" in out and "file refused 27" in out, out  # EFBIG
    assert record.isolation["limits"]["as"] == 2 * sandbox.GiB and record.isolation["limits"]["fsize"] == 1_000_000
    assert record.isolation["sandbox"] == sandbox.UNSAFE


def test_the_filter_refuses_what_it_lists_and_allows_the_rest(tmp_path):
    """The compiled filter, loaded into a child process by bubblewrap, refuses open_by_handle_at
    and new user namespaces but lets threads and processes start (clone without CLONE_NEW*)."""
    fd, refused = seccomp.compile_filter()
    assert "open_by_handle_at" in refused and "ptrace" in refused and "clone with CLONE_NEW* flags" in refused
    code = (
        "import ctypes, os, threading\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print('handle', libc.open_by_handle_at(0, None, 0), ctypes.get_errno())\n"
        "print('unshare', libc.unshare(0x10000000), ctypes.get_errno())\n"
        "t = threading.Thread(target=print, args=('thread ok',)); t.start(); t.join()\n"
        "pid = os.fork()\n"
        "os._exit(0) if pid == 0 else print('fork ok', os.waitpid(pid, 0)[1])\n"
    )
    done = subprocess.run(
        ["bwrap", "--ro-bind", "/", "/", "--seccomp", str(fd), sys.executable, "-c", code], pass_fds=(fd,), capture_output=True, text=True
    )
    os.close(fd)
    assert done.returncode == 0, done.stderr
    assert f"handle -1 {errno.EPERM}" in done.stdout and f"unshare -1 {errno.EPERM}" in done.stdout
    assert "thread ok" in done.stdout and "fork ok 0" in done.stdout


def test_host_paths_map_to_where_the_run_sees_them(tmp_path):
    model = tmp_path / "cache" / "tiny"
    model.mkdir(parents=True)
    link = tmp_path / "model-link"
    link.symlink_to(model)
    layout = Layout.for_run(tmp_path / "private", tmp_path / "private" / "work", link, tmp_path / "inject", tmp_path / "launch", True)
    assert layout.host["model"] == model  # bound from where it lies: renaming the link changes nothing
    assert layout.to_inside(tmp_path / "private" / "work" / "train.py") == "/home/ma-user/work/train.py"
    assert layout.to_inside(tmp_path / "private" / "home" / ".cache" / "x") == "/home/ma-user/.cache/x"
    assert layout.to_inside(model / "config.json") == "/opt/grader/model/config.json"
    assert layout.to_inside(tmp_path / "elsewhere") == str(tmp_path / "elsewhere")  # in no folder of the run: unchanged
    unsafe = Layout.for_run(tmp_path / "p2", tmp_path / "p2" / "work", model, tmp_path / "inject", tmp_path / "launch", False)
    assert unsafe.inside("home") == str(tmp_path / "p2" / "home") and unsafe.to_inside(tmp_path / "x") == str(tmp_path / "x")


def test_without_bubblewrap_grading_is_refused_unless_allowed(tmp_path, monkeypatch):
    """No bwrap on PATH: exit 3, results.json says not graded and how to install it; with
    --unsafe-no-sandbox the grading goes on and says it ran unsafe. The submission crashes at once
    without importing MindNLP: what is tested is the sandbox's absence, not the training."""
    crash = tmp_path / "crash"
    crash.mkdir()
    (crash / "train.py").write_text("raise ValueError('labels must be integers')\n")
    monkeypatch.setattr(jail, "BWRAP", "bwrap-not-installed")
    jail.check.cache_clear()
    try:
        refused = helpers.grade(crash, tmp_path / "out")
        assert refused.code == 3
        assert refused.results["extra_data"]["gradable"] is False and "apt-get install bubblewrap" in refused.results["extra_data"]["error"]
        unsafe = helpers.grade(crash, tmp_path / "unsafe", "--unsafe-no-sandbox")
        assert unsafe.code == 1 and unsafe.evidence["run"]["isolation"]["sandbox"] == sandbox.UNSAFE
        assert unsafe.evidence["run"]["exit_code"] == 1 and "ValueError: labels must be integers" in unsafe.messages["run"]
        assert unsafe.results["extra_data"]["environment"]["sandbox"] == sandbox.UNSAFE
        assert "isolation: none: no sandbox (asked for: --isolation none" in unsafe.report
    finally:
        jail.check.cache_clear()


def test_a_submission_folder_closed_to_others_runs_as_the_runs_own_user(tmp_path, tiny_profile, mrpc_dir):
    """A folder copied with mode 0700 still opens: bubblewrap enters the working folder before it
    drops to the run's uid, and the run writes there as that uid."""
    folder = tmp_path / "closed"
    folder.mkdir(mode=0o700)
    (folder / "train.py").write_text("import os\nopen('made-here.txt', 'w').write(str(os.getuid()))\nprint(os.getcwd())\n")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    request = execute.RunRequest(
        tiny_profile, model, mrpc_dir, devices.Device("cpu"), sys.executable, 30, tmp_path / "logs", tmp_path / "probe"
    )
    with private_area.private_area("grade-", 256 * 1024**2) as private:
        ws = workspace.prepare(folder, private / "work")
        record = execute.run(ws, request, private).record
        made = (ws.root / "made-here.txt").read_text()
    assert record.exit_code == 0, Path(record.stderr_path).read_text()
    assert Path(record.stdout_path).read_text() == "/home/ma-user/work\n"
    assert f"host uid {made}," in record.isolation["run_user"] and int(made) != os.getuid()


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="only root mounts the private areas that come and go (CI runs as root)")
def test_the_sandbox_is_built_while_other_gradings_mount_and_unmount_their_private_areas(tmp_path):
    """Concurrent gradings mount and unmount a tmpfs each; bubblewrap that binds the whole of `/`
    takes those mounts in and fails when one goes meanwhile (seen: "Can't bind mount /oldroot/ on
    /newroot/ ... No such file or directory", about 1 in 100 tries against six churning areas). The
    check that the sandbox can be built binds only the system's folders, and so never fails."""
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            with private_area.private_area("grade-", 1024 * 1024):
                pass

    churners = [threading.Thread(target=churn) for _ in range(6)]
    for thread in churners:
        thread.start()
    try:
        failures = []
        for _ in range(300):
            try:
                jail.check.__wrapped__()
            except jail.Unavailable as exc:
                failures.append(str(exc))
    finally:
        stop.set()
        for thread in churners:
            thread.join()
    assert failures == [], failures[:3]
