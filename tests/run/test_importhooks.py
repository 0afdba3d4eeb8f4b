"""The post-import hook mechanism the grader injects into student processes."""

import subprocess
import sys

from grader.run.inject import SITE_DIR


def test_callback_runs_after_first_import_and_not_before(tmp_path):
    (tmp_path / "late_module.py").write_text("VALUE = 41\n")
    script = (
        "import sys\n"
        f"sys.path[:0] = [{str(SITE_DIR)!r}, {str(tmp_path)!r}]\n"
        "from grader_hooks.importhooks import when_imported\n"
        "seen = []\n"
        "when_imported('late_module', lambda m: seen.append(m.VALUE + 1))\n"
        "assert seen == [] and 'late_module' not in sys.modules\n"
        "import late_module\n"
        "assert seen == [42], seen\n"
        "when_imported('late_module', lambda m: seen.append('again'))\n"
        "assert seen == [42, 'again']\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_sitecustomize_reports_a_broken_hook_without_stopping_the_script(tmp_path):
    env = {"PYTHONPATH": str(SITE_DIR), "GRADER_HOOKS": "does_not_exist", "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", "print('student code ran')"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == "student code ran"
    assert "hook 'does_not_exist' not installed" in done.stderr
