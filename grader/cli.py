"""The `grade` command: `grade SUBMISSION` grades one submission (short for `grade run`); the
other commands are subcommands (arguments in commands/arguments.py, listed in the README's
reference). One exit-status table for every command: commands/arguments.py EXIT_CODES."""

from __future__ import annotations

import difflib
import sys
import tempfile
import traceback
from pathlib import Path

from grader import pipeline
from grader.commands import autograder, batch, batch_command, calibrate, check, progress, roster, selfcheck, slots, terminal
from grader.commands.arguments import Parser, build_parser
from grader.commands.class_book import rescore_in_class, roster_rows
from grader.course import calibration, data, model_files, profiles
from grader.errors import CannotGrade, SandboxUnavailable
from grader.evidence.evaluator import Evaluator
from grader.evidence.record import LOGS_DIR
from grader.intake import sources, submitted
from grader.intake.handed_in import RESULTS_FOLDER
from grader.intake.sources import REMOTE_PREFIXES
from grader.outputs import files, summary
from grader.outputs.wording import log_line
from grader.run import isolation
from grader.scoring import rubric as rubric_io

DEFAULT_COMMAND = "run"


def _with_command(parser: Parser, argv: list[str]) -> list[str]:
    """`grade SUBMISSION ...` means `grade run SUBMISSION ...`; a mistyped command is named."""
    if not argv or argv[0] in HANDLERS or argv[0] in ("-h", "--help", "--version"):
        return argv
    first = argv[0]
    if (
        not first.startswith("-")
        and not Path(first).expanduser().exists()
        and not first.startswith(REMOTE_PREFIXES)
        and not first.endswith(".git")
    ):
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
        return local.resolve().parent / RESULTS_FOLDER / name
    return Path(RESULTS_FOLDER) / name


def _options(args, device: str | None, self_check: bool = False) -> pipeline.RunOptions:
    return pipeline.RunOptions(
        args.ref,
        args.before,
        device,
        args.device_ids,
        args.python,
        args.isolation,
        getattr(args, "student", None),
        args.submitted_from,
        self_check,
    )


def _isolation_note(requested: str | None) -> str:
    """For a self-check's banner: the isolation its run will get when that is not the sandbox."""
    try:
        chosen = isolation.decide(requested, self_check=True)
    except SandboxUnavailable:
        return ""  # the grading refuses, and says why
    return "" if chosen.mode == isolation.SANDBOX else f"\n{chosen.describe()}."


def _when(args) -> str | None:
    return submitted.parse(args.submitted_at) if args.submitted_at else None


def _grade(args) -> int:
    sources.require_present(args.submission, args.ref, args.before)
    out_console = terminal.console()
    choice = selfcheck.choose(args.profile, args.model_dir, args.device)
    profile = choice.profile
    out = Path(args.out) if args.out else default_out(args.submission)
    rubric = rubric_io.load(args.rubric)
    when = _when(args)
    mrpc = data.locate(args.data)
    self_check = choice.banner is not None
    if self_check:
        terminal.banner(out_console, "self-check", choice.banner + _isolation_note(args.isolation))
    log = progress.scratch_log()
    shown = progress.for_terminal(out_console, f"grading {args.submission} on {profile.name}")
    evaluator = Evaluator.connect(Path(args.evaluator)) if getattr(args, "evaluator", None) else None
    options = _options(args, choice.device, self_check)
    try:
        with progress.library_output_to(log):
            scored = pipeline.grade(args.submission, profile, mrpc, out, args.budget, options, rubric, when, "", shown, evaluator)
    except CannotGrade:
        raise
    except Exception as exc:  # the grader's own fault: say so where Gradescope and CI look
        files.write_not_graded(out, f"{type(exc).__name__}: {exc}", getattr(exc, "refused", None))
        raise
    finally:
        shown.finished()
        if evaluator is not None:
            evaluator.close()
        progress.keep_log(log, out / files.EVIDENCE_DIR / LOGS_DIR)
    terminal.result(out_console, scored, f"{out / files.REPORT}", args.instructor)
    return 0 if scored.passed else 1


def _batch(args) -> int:
    entries, extra_columns = roster.read(Path(args.roster))  # a broken roster stops before anything else
    profile = selfcheck.named_profile(args.profile, args.model_dir)
    rubric, mrpc, out = rubric_io.load(args.rubric), data.locate(args.data), Path(args.out)
    if (args.devices or args.jobs) and args.device_ids:
        raise CannotGrade("--devices and --jobs give each slot its device; leave out --device-ids")
    if args.isolation == isolation.CONTAINER:
        raise CannotGrade(
            "--isolation container is for a disposable container made for one submission (Gradescope); a batch grades "
            + "many on one machine: grade it with the sandbox, or with --isolation none on a machine that grades and nothing else"
        )
    if args.executor == "local":
        isolation.decide(args.isolation)  # once, before anyone is graded: the same for every student
    if args.executor == "ray":  # the cluster's nodes have the devices and the model, not necessarily this machine
        plan = [slots.Slot("ray", args.device or profile.device)]
    else:
        plan = slots.plan(args.devices, args.jobs, args.device)  # every device checked before anyone is graded
    if profile.source == "generated":  # built once, before the slots start, not by every slot at once
        batch_command.prepare_model(profile, Path(mrpc), args.model_dir)
    elif args.executor == "local":
        model_files.ensure(profile, mrpc)  # the model folder is checked before anyone is graded
    python = str(Path(args.python).absolute()) if args.python and "/" in args.python else args.python
    settings = batch.Settings(
        profile.name,
        Path(mrpc).absolute(),
        str(Path(args.model_dir).absolute()) if args.model_dir else None,
        args.budget,
        args.ref,
        args.before,
        args.device_ids,
        python,
        args.isolation,
        str(rubric_io.resolve(args.rubric).absolute()),
        _when(args),
        args.submitted_from,
    )
    out.mkdir(parents=True, exist_ok=True)
    with progress.library_output_to(out / progress.GRADER_LOG):  # library warnings of the batch's own process
        return batch_command.grade_class(
            entries,
            extra_columns,
            out,
            settings,
            rubric,
            plan,
            terminal.console(),
            args.budget or profile.budget_seconds,
            args.regrade,
            args.executor,
            args.address,
            args.ray_resource,
        )


def _rescore(args) -> int:
    """Each folder re-scored in turn: a file among them (a shell's `class/*` lists the class's own
    gradebook.csv) is skipped with a note, a folder the batch could not grade is named as such,
    and one that cannot be re-scored is reported without stopping the others (exit 2 at the end)."""
    if args.out and len(args.folders) > 1:
        raise CannotGrade("--out takes one folder; without it each folder's outputs are rewritten in place")
    rubric = rubric_io.load(args.rubric)
    folders, notes = files.result_folders([Path(f) for f in args.folders])
    for note in notes:
        print(log_line(note), file=sys.stderr)
    if not folders:
        raise CannotGrade("no folder to re-score among " + ", ".join(map(str, args.folders)))
    worst = 0
    for folder in folders:
        not_graded = files.read_error(folder)
        if not_graded is not None:
            print(log_line(f"skipped {folder}: the batch could not grade it ({not_graded})"), file=sys.stderr)
            continue
        try:
            scored = rescore_in_class(folder, rubric, Path(args.out) if args.out else None, args.profile, _when(args))
        except CannotGrade as exc:
            _complain(f"grade: cannot re-score {folder}: ", str(exc))
            worst = 2
            continue
        terminal.result(terminal.console(), scored, str(args.out or folder), args.instructor)
        print()
        worst = max(worst, 0 if scored.passed else 1)
    return worst


def _summary(args) -> int:
    folders, notes = files.result_folders([Path(f) for f in args.folders], Path(args.out))
    known, roster_columns = roster_rows(folders)  # a batch's students: as its gradebook records them
    path, rows = summary.write(folders, Path(args.out), known, roster_columns)
    for row in rows:
        print(log_line(f"{row.student}: {row.status}" + (f" ({row.problem})" if row.problem else "")))
    for note in notes:
        print(log_line(note))
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
    profile = selfcheck.named_profile(args.profile, args.model_dir)
    print(model_files.ensure(profile, data.locate(args.data) if profile.source == "generated" else None))
    return 0


def _check(args) -> int:
    return check.main(args.submission, args.data, args.python, args.steps, args.budget, args.static, terminal.console(), args.isolation)


def _autograder(args) -> int:
    out = Path(args.out)
    wheel = Path(args.wheel) if args.wheel else None
    if args.grader_spec and wheel:
        raise CannotGrade("--grader-spec and --wheel both name what installs the grader; pass one")
    if args.target == "github":
        options = autograder.GithubOptions(
            out,
            args.classroom,
            args.profile,
            args.rubric,
            args.grader_spec,
            wheel,
            args.assets,
            args.runs_on,
            args.submission,
            args.release_repo,
            args.release_tag,
            args.timeout_minutes,
        )
        written = autograder.github(options)
    else:
        data_dir = Path(args.data) if args.data else None
        written = autograder.gradescope(autograder.GradescopeOptions(out, args.profile, args.rubric, args.grader_spec, wheel, data_dir))
    for path in written:
        print(path)
    return 0


HANDLERS = {
    "run": _grade,
    "check": _check,
    "batch": _batch,
    "rescore": _rescore,
    "summary": _summary,
    "calibrate": _calibrate,
    "prepare": _prepare,
    "autograder": _autograder,
}


def _complain(prefix: str, text: str) -> None:
    """A message on stderr whose lines may hold a run's or a remote's text (a file name, a git
    server's reply): each line through log_line, every line after the first indented."""
    lines = text.splitlines() or [""]
    print("\n".join([prefix + log_line(lines[0]), *("  " + log_line(line) for line in lines[1:])]), file=sys.stderr)


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
        _complain("grade: cannot grade: ", str(exc))
        return 2
    except SandboxUnavailable as exc:
        _complain("grade: cannot grade safely: ", str(exc))
        return 3
    except KeyboardInterrupt:
        print("grade: interrupted", file=sys.stderr)
        return 130
    except Exception:
        _complain("", traceback.format_exc())
        print("grade: internal error of the grader (not of the submission); results.json says it was not graded", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
