"""The sandbox around a student run: network, hidden data, limits, capped logs, leftovers."""

import json
import os
import time
from pathlib import Path

from grader.run import environment, runner, sandbox

from .test_runner import _alive


def run(tmp_path, code, box=None, budget=30):
    script = tmp_path / "work" / "train.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(code)
    env = environment.student_env(tmp_path / "private", {}, "CPU", 0)
    return runner.run_script(script, script.parent, env, budget, tmp_path / "logs", sandbox=box or sandbox.Sandbox())


def test_network_is_cut_but_loopback_works(tmp_path):
    record = run(
        tmp_path,
        (
            "import socket\n"
            "try:\n"
            "    socket.create_connection(('1.1.1.1', 53), timeout=3); print('outside: reached')\n"
            "except OSError as exc:\n"
            "    print('outside:', type(exc).__name__, exc.errno)\n"
            "server = socket.socket(); server.bind(('127.0.0.1', 0)); server.listen()\n"
            "client = socket.create_connection(server.getsockname(), timeout=3)\n"
            "print('loopback: ok')\n"
        ),
    )
    out = Path(record.stdout_path).read_text()
    assert record.exit_code == 0, Path(record.stderr_path).read_text()
    assert record.isolation["network"].startswith("network namespace"), record.isolation
    assert "outside: reached" not in out and "outside: OSError 101" in out  # ENETUNREACH: no route at all
    assert "loopback: ok" in out


def test_hidden_grader_data_cannot_be_read(tmp_path):
    secret_dir = tmp_path / "grader-data"
    secret_dir.mkdir()
    (secret_dir / "test.jsonl").write_text('{"label": 1}\n')
    results = tmp_path / "results.json"
    results.write_text('{"score": 10}')
    box = sandbox.Sandbox(hide=(str(secret_dir), str(results)))
    record = run(
        tmp_path,
        (
            "import os, sys\n"
            f"for path in [{str(secret_dir / 'test.jsonl')!r}, {str(results)!r}]:\n"
            "    try:\n"
            "        print(path, 'READ', repr(open(path).read()))\n"
            "    except OSError as exc:\n"
            "        print(path, 'refused', type(exc).__name__)\n"
            f"print('listing', os.listdir({str(secret_dir)!r}) if os.access({str(secret_dir)!r}, os.R_OK) else 'refused')\n"
        ),
        box,
    )
    out = Path(record.stdout_path).read_text()
    assert record.exit_code == 0, Path(record.stderr_path).read_text()
    assert record.isolation["hidden"].startswith("mount namespace"), record.isolation
    assert 'READ \'{"label"' not in out and '\'{"score"' not in out
    assert f"{secret_dir / 'test.jsonl'} refused" in out
    assert "listing refused" in out or "listing []" in out
    assert (secret_dir / "test.jsonl").read_text() == '{"label": 1}\n'  # untouched outside


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
    deadline = time.monotonic() + 5
    while _alive(daemon) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(daemon)
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
    assert record.isolation["limits"]["as"] == 2 * sandbox.GiB
    plan = json.loads((tmp_path / "logs" / "sandbox-plan.json").read_text())
    assert plan["limits"]["fsize"] == 1_000_000


def test_paths_that_hold_what_the_run_needs_are_never_masked(tmp_path):
    needed = tmp_path / "a" / "private"
    needed.mkdir(parents=True)
    other = tmp_path / "b"
    other.mkdir()
    hide, kept = sandbox.safe_to_hide([tmp_path / "a", other, tmp_path / "missing"], [needed])
    assert hide == [str(other.resolve())] and kept == [str((tmp_path / "a").resolve())]
    assert os.path.isdir(needed)


def test_the_base_model_is_read_only_and_the_masks_cannot_be_undone(tmp_path):
    """Even as root inside the sandbox: the model folder cannot be written and a mask cannot be
    unmounted to reach the hidden data (the capabilities to do so are dropped)."""
    model, secret = tmp_path / "model", tmp_path / "hidden"
    model.mkdir()
    secret.mkdir()
    (model / "config.json").write_text("{}")
    (secret / "labels.jsonl").write_text("secret\n")
    box = sandbox.Sandbox(hide=(str(secret),), read_only=(str(model),))
    record = run(
        tmp_path,
        (
            "import ctypes, ctypes.util, os\n"
            "libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)\n"
            f"print('model readable', open({str(model / 'config.json')!r}).read())\n"
            "try:\n"
            f"    open({str(model / 'config.json')!r}, 'w').write('tampered'); print('model WRITTEN')\n"
            "except OSError as exc:\n"
            "    print('model write refused', exc.errno)\n"
            f"print('umount', libc.umount2({str(secret)!r}.encode(), 2), os.strerror(ctypes.get_errno()))\n"
            "try:\n"
            f"    print('secret', open({str(secret / 'labels.jsonl')!r}).read())\n"
            "except OSError as exc:\n"
            "    print('secret refused', exc.errno)\n"
        ),
        box,
    )
    out = Path(record.stdout_path).read_text()
    assert record.exit_code == 0, Path(record.stderr_path).read_text()
    assert "model readable {}" in out and "model WRITTEN" not in out and "model write refused 30" in out  # EROFS
    assert "umount -1" in out and "secret refused" in out and "secret secret" not in out
    assert (model / "config.json").read_text() == "{}"
    assert "CAP_SYS_ADMIN" in record.isolation["capabilities_dropped"] and record.isolation["read_only"] == [str(model)]
