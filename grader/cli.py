"""The `grade` command: `grade SUBMISSION` grades one submission (short for `grade run`); the
other commands are subcommands. Every command and option is listed in the README's reference.

Exit status (one table for every command, also in the README and `grade --help`):
  0  graded, and every required criterion passed (check: nothing wrong found)
  1  graded, and a required criterion failed (check: a problem found)
  2  could not grade: a bad argument, an unknown command or option, a broken rubric or roster,
     an unknown profile, a missing model, data set or device
  130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

from grader import __version__, pipeline
from grader.commands import batch, calibrate, check, progress, rescore, selfcheck, terminal
from grader.course import calibration, data, model_files, profiles
from grader.errors import CannotGrade
from grader.evidence.record import LOGS_DIR
from grader.intake import submitted, workspace
from grader.outputs import files, summary
from grader.scoring import rubric as rubric_io

EXIT_CODES = """exit status:
  0    graded, every required criterion passed (check: nothing wrong found)
  1    graded, a required criterion failed (check: a problem found)
  2    could not grade: bad arguments, unknown command or option, broken rubric or roster,
       unknown profile, missing model, data or device
  130  interrupted"""
DEFAULT_COMMAND = "run"
URL = re.compile(r"^(https?://|ssh://|git@|file://)|\.git$")
GRADER_LOG = "grader.log"  # library warnings of the grader's own process, kept with the evidence


class Parser(argparse.ArgumentParser):
    """argparse that names the close match of a mistyped option before parsing."""

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        known = list(self._option_string_actions)
        stops = bool(self._subparsers)  # the top level: what follows the command is the command's
        for token in args:
            if token == "--":
                break
            if not token.startswith("-") or token == "-":
                if stops:
                    break
                continue
            option = token.split("=", 1)[0]
            if option in known or (option.startswith("--") and any(k.startswith(option) for k in known)):
                continue
            hint = difflib.get_close_matches(option, [k for k in known if k.startswith("--")], n=1, cutoff=0.6)
            self.error(f"unknown option {option}" + (f"; did you mean {hint[0]}?" if hint else f" (see {self.prog} --help)"))
        return super().parse_known_args(args, namespace)


def _profile_options(parser: argparse.ArgumentParser, default_note: str) -> None:
    parser.add_argument("--profile", help=f"model profile: roberta-large or tiny ({default_note}; $GRADER_PROFILE)")
    parser.add_argument(
        "--data",
        metavar="DIR",
        help=f"GLUE-MRPC folder, or `hub` to fetch it once into the cache (default ${data.ENV_VAR}, then that cache)",
    )
    parser.add_argument("--model-dir", metavar="DIR", help="local model folder: config.json, weights, tokenizer (overrides the profile's)")


def _rubric_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rubric", help="rubric name in rubrics/ or a YAML path (default: default)")
    parser.add_argument(
        "--submitted-at", metavar="TIME", help="submission time, ISO 8601 with a time zone (default: date of the last commit touching it)"
    )


def _run_options(parser: argparse.ArgumentParser, default_note: str) -> None:
    """What `grade`/`grade run` and `grade batch` share: how to fetch, run and score a submission."""
    _profile_options(parser, default_note)
    parser.add_argument("--budget", type=float, metavar="SECONDS", help="time budget in seconds (default: the profile's)")
    parser.add_argument("--device", help="cpu, gpu or ascend, optionally with ids: ascend:0 (default: the profile's)")
    parser.add_argument("--device-ids", metavar="IDS", help="physical device ids, comma-separated (same as DEVICE:IDS)")
    parser.add_argument(
        "--python", metavar="PATH", help="interpreter that runs the student's code (default: the profile's, else the grader's)"
    )
    parser.add_argument("--ref", help="git: branch, tag or commit to grade (default: the default branch)")
    parser.add_argument(
        "--before", metavar="TIME", help="git: grade the last commit before this date-time (ISO 8601; local time without an offset)"
    )
    parser.add_argument(
        "--hide", metavar="PATH", action="append", default=[], help="another path the student's run must not read (repeatable)"
    )
    _rubric_options(parser)


def build_parser() -> Parser:
    top = Parser(
        prog="grade",
        usage="grade SUBMISSION [options]      (same as: grade run SUBMISSION)\n       grade COMMAND [options]\n       grade --version",
        description="Grade IA3 fine-tuning homework (MindSpore + MindNLP, RoBERTa on GLUE-MRPC).",
        epilog=f"`grade COMMAND --help` lists a command's options.\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"grade {__version__}")
    commands = top.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    def command(name: str, summary_line: str, description: str = "") -> Parser:
        text = textwrap.fill(description or summary_line, 100)
        return commands.add_parser(
            name,
            prog=f"grade {name}",
            help=summary_line,
            description=text,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    run = command(
        "run",
        "grade one submission (the default: `grade SUBMISSION`)",
        "Grade one submission: run it sandboxed and offline, check what it trained and saved, score it with a rubric, write "
        "the reports. With nothing configured and the course model absent, it grades on the `tiny` profile and says so.",
    )
    run.add_argument("submission", metavar="SUBMISSION", help="folder, .py script, .ipynb notebook, .zip, or git repository (URL or path)")
    run.add_argument(
        "--out", metavar="DIR", help="output folder (default: grade-results/NAME here, or beside the submission when run inside it)"
    )
    _run_options(run, "default: roberta-large, or tiny as a self-check when its model is absent")
    run.add_argument("--instructor", action="store_true", help="print every criterion, withheld ones included (students never see them)")

    chk = command(
        "check",
        "quick self-check: static checks in seconds, then a few training steps on tiny",
        "Check a submission quickly without grading it: first what can be read from the code (entry point, notebook, "
        "MindNLP API, import order, IA3 config, where the adapter is saved, hub names), then a short run on the tiny "
        "profile that stops after a few training steps and says which tensors the training changed.",
    )
    chk.add_argument("submission", metavar="SUBMISSION", help="folder, .py script, .ipynb notebook, .zip, or git repository")
    chk.add_argument("--static", action="store_true", help="only the static checks (no run)")
    chk.add_argument("--steps", type=int, metavar="N", default=check.STEPS, help=f"training steps to watch (default {check.STEPS})")
    chk.add_argument(
        "--budget",
        type=float,
        metavar="SECONDS",
        default=check.BUDGET,
        help=f"time limit of the short run in seconds (default {check.BUDGET:g})",
    )
    chk.add_argument("--data", metavar="DIR", help=f"GLUE-MRPC folder, or `hub` (default ${data.ENV_VAR}, then the hub cache)")
    chk.add_argument("--python", metavar="PATH", help="interpreter that runs the student's code (default: the grader's)")

    bat = command(
        "batch",
        "grade every student of a roster CSV, then the class summary",
        "Grade every student of a roster CSV (columns: student, submission[, ref, before, submitted_at]), then write the class summary.",
    )
    bat.add_argument("roster", metavar="ROSTER", help="roster CSV file")
    bat.add_argument("--out", metavar="DIR", required=True, help="folder for one sub-folder per student, summary.html and gradebook.csv")
    _run_options(bat, "default: roberta-large")

    res = command("rescore", "judge stored evidence again with a rubric; nothing is trained")
    res.add_argument("folders", metavar="FOLDER", nargs="+", help="folders written by `grade` (holding evidence/)")
    res.add_argument("--profile", help="profile, when the folder does not record it")
    res.add_argument("--out", metavar="DIR", help="write the outputs here instead of over the folder's (one folder only)")
    res.add_argument("--instructor", action="store_true", help="print every criterion, withheld ones included")
    _rubric_options(res)

    summ = command("summary", "write a class summary.html and gradebook.csv from graded folders")
    summ.add_argument("folders", metavar="FOLDER", nargs="+", help="folders written by `grade` or `grade rescore`")
    summ.add_argument("--out", metavar="DIR", required=True, help="folder for summary.html and gradebook.csv")

    cal = command("calibrate", "run the reference solution and store what the checks compare against")
    _profile_options(cal, "default: roberta-large")
    cal.add_argument("--no-train", action="store_true", help="count parameters only; take metrics from the profile's cited runs")
    cal.add_argument("--out", metavar="FILE", help="calibration file (default reference/calibration/PROFILE.json)")

    prep = command("prepare", "build a generated profile's model (tiny) into the cache, or check a local one")
    _profile_options(prep, "default: roberta-large")
    return top


def _with_command(parser: Parser, argv: list[str]) -> list[str]:
    """`grade SUBMISSION ...` means `grade run SUBMISSION ...`; a mistyped command is named."""
    if not argv or argv[0] in HANDLERS or argv[0] in ("-h", "--help", "--version"):
        return argv
    first = argv[0]
    if not first.startswith("-") and not Path(first).expanduser().exists() and not URL.search(first):
        hint = difflib.get_close_matches(first, list(HANDLERS), n=1, cutoff=0.6)
        if hint:
            parser.error(f"unknown command {first!r}; did you mean `grade {hint[0]}`? (commands: {', '.join(HANDLERS)})")
    return [DEFAULT_COMMAND, *argv]


def default_out(submission: str) -> Path:
    """grade-results/NAME in the current folder, unless that lies inside the submission folder:
    then beside it, so that a later grading never finds this one's output in the submission."""
    local = Path(submission).expanduser()
    name = (local.resolve().name if local.exists() else Path(submission.rstrip("/")).stem) or "submission"
    if local.is_dir() and Path.cwd().resolve().is_relative_to(local.resolve()):
        return local.resolve().parent / workspace.RESULTS_FOLDER / name
    return Path(workspace.RESULTS_FOLDER) / name


def _options(args, device: str | None) -> pipeline.RunOptions:
    return pipeline.RunOptions(args.ref, args.before, device, args.device_ids, args.python, tuple(args.hide))


def _when(args) -> str | None:
    return submitted.parse(args.submitted_at) if args.submitted_at else None


def _grade(args) -> int:
    out_console = terminal.console()
    choice = selfcheck.choose(args.profile, args.model_dir, args.device)
    profile = choice.profile
    out = Path(args.out) if args.out else default_out(args.submission)
    rubric = rubric_io.load(args.rubric)
    when = _when(args)
    mrpc = data.locate(args.data)
    if choice.banner:
        terminal.banner(out_console, "self-check", choice.banner)
    log = progress.scratch_log()
    shown = progress.for_terminal(out_console, f"grading {args.submission} on {profile.name}")
    try:
        with progress.library_output_to(log):
            scored = pipeline.grade(
                args.submission, profile, mrpc, out, args.budget, _options(args, choice.device), rubric, when, "", shown
            )
    finally:
        shown.finished()
        _keep_log(log, out / files.EVIDENCE_DIR / LOGS_DIR)
    terminal.result(out_console, scored, f"{out / files.REPORT}", args.instructor)
    return 0 if scored.passed else 1


def _keep_log(log: Path, logs_dir: Path) -> None:
    if logs_dir.is_dir():
        shutil.move(str(log), logs_dir / GRADER_LOG)
    else:
        log.unlink(missing_ok=True)


def _batch(args) -> int:
    profile = profiles.load(args.profile or os.environ.get(selfcheck.PROFILE_ENV) or selfcheck.COURSE_PROFILE, args.model_dir)
    rows = batch.grade_class(
        Path(args.roster), profile, data.locate(args.data), Path(args.out), args.budget, _options(args, args.device),
        rubric_io.load(args.rubric), _when(args),
    )  # fmt: skip
    print(f"\n{len(rows)} students -> {Path(args.out) / files.SUMMARY}")
    return 0 if all(row.status == "passed" for row in rows) else 1


def _rescore(args) -> int:
    if args.out and len(args.folders) > 1:
        raise CannotGrade("--out takes one folder; without it each folder's outputs are rewritten in place")
    rubric = rubric_io.load(args.rubric)
    worst = 0
    for folder in args.folders:
        scored = rescore.rescore(Path(folder), rubric, Path(args.out) if args.out else None, args.profile, _when(args))
        terminal.result(terminal.console(), scored, str(args.out or folder), args.instructor)
        print()
        worst = max(worst, 0 if scored.passed else 1)
    return worst


def _summary(args) -> int:
    path, rows = summary.write([Path(f) for f in args.folders], Path(args.out))
    for row in rows:
        print(f"{row.student}: {row.status}" + (f" ({row.problem})" if row.problem else ""))
    print(f"\n{len(rows)} submissions  ->  {path}, {Path(args.out) / files.GRADEBOOK}")
    return 0


def _calibrate(args) -> int:
    profile = profiles.load(args.profile or selfcheck.COURSE_PROFILE, args.model_dir)
    train = not args.no_train
    if train and profile.source != "generated":
        try:
            has_weights = any(profile.model_dir().glob("*.safetensors")) or any(profile.model_dir().glob("*.bin"))
        except CannotGrade:
            has_weights = False
        if not has_weights:
            print(f"no weights for {profile.name}: counting parameters only; metrics from the profile's cited runs", file=sys.stderr)
            train = False
    with tempfile.TemporaryDirectory(prefix="calibrate-") as work:
        result = calibrate.calibrate(profile, data.locate(args.data), train, Path(work))
    path = calibration.save(result, Path(args.out) if args.out else calibration.path_for(profile.name))
    s = result.structure
    print(
        f"{profile.name}: {s.trainable_parameters:,} trainable of {s.all_parameters:,}; "
        f"reference {result.reference_run.metrics}; thresholds {result.thresholds}"
    )
    print(f"written to {path}")
    return 0


def _prepare(args) -> int:
    profile = profiles.load(args.profile or os.environ.get(selfcheck.PROFILE_ENV) or selfcheck.COURSE_PROFILE, args.model_dir)
    print(model_files.ensure(profile, data.locate(args.data) if profile.source == "generated" else None))
    return 0


def _check(args) -> int:
    return check.main(args.submission, args.data, args.python, args.steps, args.budget, args.static, terminal.console())


HANDLERS = {
    "run": _grade,
    "check": _check,
    "batch": _batch,
    "rescore": _rescore,
    "summary": _summary,
    "calibrate": _calibrate,
    "prepare": _prepare,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(_with_command(parser, argv))
        if not args.command:
            parser.print_help()
            return 2
        return HANDLERS[args.command](args)
    except SystemExit as exc:  # argparse: --help and --version (0), a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    except CannotGrade as exc:
        print(f"grade: cannot grade: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grade: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
