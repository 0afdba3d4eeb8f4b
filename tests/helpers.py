"""What many tests share: where the examples and the data are, grading a submission through the
`grade` command exactly as a user does (with what it wrote read back), judging stored evidence
again under a rubric, and watching processes from the host."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

from grader import cli
from grader.checks.judge import judge
from grader.course import model_files, profiles
from grader.evidence.evaluator import TOKEN_ENV, Evaluator
from grader.evidence.findings import Findings
from grader.evidence.record import Evidence
from grader.run import devices
from grader.scoring import rubric

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
# a student's identity for the git repositories the tests make, and nothing of the machine's git set-up
GIT_ENV = {
    "GIT_AUTHOR_NAME": "s",
    "GIT_AUTHOR_EMAIL": "s@example.org",
    "GIT_COMMITTER_NAME": "s",
    "GIT_COMMITTER_EMAIL": "s@example.org",
    "PATH": "/usr/bin:/bin",
}
MRPC_DIR = Path(os.environ.get("GRADER_MRPC_DIR") or ROOT.parent / "shared" / "data" / "mrpc").resolve()


@dataclass
class Graded:
    code: int  # the command's exit status
    out: Path

    @cached_property
    def results(self) -> dict:
        return json.loads((self.out / "results.json").read_text())

    @cached_property
    def tests(self) -> dict[str, dict]:
        """Gradescope tests by check id, with the hidden 0-point ones results.json keeps in
        extra_data for the instructor, leaving out rubric criteria this grader does not judge."""
        kept = self.results["extra_data"].get("instructor_only", {}).get("tests", [])
        return {t["tags"][0]: t for t in self.results["tests"] + kept if "not-in-result" not in t["tags"]}

    @property
    def statuses(self) -> dict[str, str]:
        return {check: t["extra_data"]["grader_status"] for check, t in self.tests.items()}

    @property
    def messages(self) -> dict[str, str]:
        return {check: t["output"] for check, t in self.tests.items()}

    @cached_property
    def evidence(self) -> dict:
        return json.loads((self.out / "evidence" / "evidence.json").read_text())

    @property
    def logs(self) -> Path:
        return self.out / "evidence" / "logs"

    @property
    def stdout(self) -> str:
        return (self.logs / "stdout.txt").read_text() if self.evidence["run"] else ""

    @property
    def report(self) -> str:
        return (self.out / "report.html").read_text()


def grade(source, out: Path, *extra: str, profile: str = "tiny") -> Graded:
    """`grade SOURCE --profile tiny --out OUT [extra...]`. On the tiny profile on the CPU the
    grading measures through this test process's warm evaluator, as a batch's worker measures
    through its slot's (the hidden `--evaluator SOCKET`): each grading would otherwise spend
    about 7 s of CPU loading MindNLP and the base model again. grade_in_a_child grades as a
    single `grade` does, starting an evaluator of its own."""
    argv = [str(source), "--profile", profile, "--out", str(out), *extra]
    if profile != "tiny" or "--device" in extra:
        return Graded(cli.main(argv), Path(out))
    evaluator = warm_evaluator()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TOKEN_ENV, evaluator.token)
        return Graded(cli.main([*argv, "--evaluator", str(evaluator.address)]), Path(out))


# `grade ARGS...` in a process of its own that exits with NO_MINDSPORE_EXIT when the MindSpore stack
# was imported into it: a grading's MindSpore work belongs to the student's run and the evaluator.
NO_MINDSPORE_EXIT = 97
GRADE_WITHOUT_MINDSPORE = f"""import sys
from grader import cli
code = cli.main(sys.argv[1:])
if {{'mindspore', 'mindnlp', 'torch'}} & set(sys.modules):
    print('the grader process imported the MindSpore stack', file=sys.stderr)
    sys.exit({NO_MINDSPORE_EXIT})
sys.exit(code)
"""


def grade_in_a_child(source, out: Path, *extra: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`grade SOURCE --profile tiny --out OUT [extra...]` in a process of its own (GRADE_WITHOUT_MINDSPORE),
    starting its own evaluator as a single `grade` does."""
    return subprocess.run(
        [sys.executable, "-c", GRADE_WITHOUT_MINDSPORE, str(source), "--profile", "tiny", "--out", str(out), *extra],
        cwd=cwd,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
    )


_warm: list[Evaluator] = []  # this test process's evaluator for the tiny profile, started on first use


def warm_evaluator() -> Evaluator:
    """The test process's evaluator, started again if a grading left it dead (an adapter that
    ran past its deadline kills the evaluator that measured it, as in a batch's slot)."""
    if _warm and _warm[0].alive():
        return _warm[0]
    close_warm_evaluator()
    profile = profiles.load("tiny")
    _warm.append(Evaluator.start(profile, model_files.ensure(profile, MRPC_DIR), MRPC_DIR, devices.parse("cpu")))
    return _warm[0]


def close_warm_evaluator() -> None:
    while _warm:
        _warm.pop().close()


def venv_over_this_environment(folder: Path, *pth_lines: str, with_pip: bool = False) -> Path:
    """A virtual environment at `folder` that sees this test environment's packages after its own
    (a .pth file, whose `import` lines in `pth_lines` run at start-up; the editable checkout's
    finder is not run from there, so the grader is not among them). Returns its site-packages."""
    subprocess.run(
        [sys.executable, "-m", "venv", *([] if with_pip else ["--without-pip"]), str(folder)], check=True, capture_output=True, timeout=300
    )
    site = next((folder / "lib").glob("python3*/site-packages"))
    (site / "test-environment.pth").write_text("\n".join([sysconfig.get_paths()["purelib"], *pth_lines]) + "\n")
    return site


def judged(folder: Path, tiny, seconds: float = 12.5):
    """A graded folder's stored evidence judged again; `tiny` is (profile, calibration), the
    fixture in conftest.py."""
    profile, calib = tiny
    return judge(Findings.load(Evidence.load(folder / "evidence")), calib, profile, seconds)


def rubric_file(tmp_path: Path, text: str) -> rubric.Rubric:
    """A rubric loaded from `text`, written as tmp_path/rubric.yaml."""
    path = tmp_path / "rubric.yaml"
    path.write_text(text)
    return rubric.load(path)


def readme_commands(heading: str) -> list[str]:
    """The `grade ...` lines of the first bash block under a README heading (comments dropped)."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(f"\n{heading}\n") :]
    block = section[section.index("```bash\n") + 8 :]
    block = block[: block.index("```")]
    lines = [line.split("  #")[0].strip() for line in block.splitlines()]
    return [line for line in lines if line.startswith("grade ")]


def readme_environment(**extra) -> dict[str, str]:
    """This checkout's grader from any folder, with nothing chosen that a reader would not have."""
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_PROFILE", "GRADER_MODEL_DIR_ROBERTA_LARGE", "GITHUB_OUTPUT")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def run_readme_line(line: str, cwd, env, substitutions: dict[str, str]) -> subprocess.CompletedProcess:
    """A README `grade ...` line run as the shell would run it, with `env` for its $VARIABLES."""
    for old, new in substitutions.items():
        line = line.replace(old, new)
    argv = [re.sub(r"\$(\w+)", lambda m: env[m.group(1)], word) for word in shlex.split(line)]
    assert argv[0] == "grade"
    return subprocess.run([sys.executable, "-m", "grader.cli", *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def process_state(pid: int | str) -> str | None:
    """A process's state letter from /proc (Z: a zombie, exited but not reaped); None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def alive(pid: int) -> bool:
    return process_state(pid) not in (None, "Z")


def wait_for(condition, timeout: float, what: str, poll: float = 0.2):
    """The first true value of `condition()` within `timeout` seconds; fails the test naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def run_survivors(isolation: dict) -> list[int]:
    """Live processes of a sandboxed run's dedicated uid, seen from the host: a run's own pids are
    those of its PID namespace, which mean nothing out here. Only a grader running as root gives
    a run a uid of its own; elsewhere the calling test is skipped at this point, after its other
    assertions, since no process can be told apart as the run's."""
    if os.geteuid() != 0:
        pytest.skip("a run's surviving processes are found by its own uid, which only a root grader gives it (CI runs as root)")
    found = re.search(r"host uid (\d+)", (isolation or {}).get("run_user", ""))
    assert found, f"a root grader gave the run no uid of its own: {isolation}"
    survivors = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == int(found.group(1)) and process_state(entry.name) not in (None, "Z"):
                    survivors.append(int(entry.name))
            except OSError:
                pass
    return survivors


# Python that evaluates to the peak resident memory of the process running it, in kB. VmHWM belongs
# to the process's own address space; getrusage's ru_maxrss keeps the high-water mark of the process
# it was forked from as well (a pytest that had imported MindSpore), across exec.
PEAK_KB = "int(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')))"


def as_from_a_terminal() -> None:
    """preexec_fn for a child a test will stop with SIGINT, as Ctrl-C does: a process started in the
    background of a non-interactive shell (a CI step, `cmd &`), or by a pytest-xdist worker,
    inherits SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
