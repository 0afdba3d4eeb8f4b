"""The `grade` command.

  grade SUBMISSION [--profile P] [--budget SECONDS] [--out DIR]   grade one submission
        [--device cpu|gpu|ascend[:IDS]] [--python PATH] [--ref REF] [--before DATETIME]
  grade calibrate --profile P [--no-train]                         run the reference, store the truth
  grade prepare --profile P                                        build a generated model into the cache
  grade rescore RESULT_DIR... [--rubric R]                         re-score stored evidence, no training
  grade summary RESULT_DIR... --out DIR                            class summary.html and gradebook.csv
  grade batch ROSTER.csv --out DIR [grading options]               grade a class, then its summary

Exit status: 0 every required check passed, 1 graded with a failing check, 2 could not grade (bad
input), 3 an error of the grader itself (results.json then says the submission was not graded).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from pathlib import Path

from grader import pipeline
from grader.commands import batch, calibrate, rescore
from grader.course import calibration, data, model_files, profiles
from grader.errors import CannotGrade
from grader.intake import submitted
from grader.outputs import files, summary
from grader.scoring import rubric as rubric_io

COMMANDS = ("calibrate", "prepare", "rescore", "summary")
EXIT_CANNOT_GRADE, EXIT_GRADER_ERROR = 2, 3  # 0: passed, 1: graded and failing
DEFAULT_PROFILE = os.environ.get("GRADER_PROFILE", "roberta-large")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default=DEFAULT_PROFILE, help=f"model profile (default {DEFAULT_PROFILE}; $GRADER_PROFILE)")
    parser.add_argument("--data", help=f"GLUE-MRPC directory (JSON lines or GLUE TSV; default ${data.ENV_VAR})")
    parser.add_argument("--model-dir", help="local model directory (overrides the profile's)")


def _grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grade",
        description="Grade an IA3 fine-tuning submission (MindNLP, GLUE-MRPC).",
        epilog="Other commands: grade calibrate|prepare|batch|rescore|summary --help",
    )
    parser.add_argument("submission", help="folder, .py script, .ipynb notebook, .zip, or git repository (URL or path)")
    parser.add_argument("--out", help="output directory (default ./grade-results/NAME)")
    _run_options(parser)
    return parser


def _batch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grade batch",
        description="Grade every student of a roster CSV (columns: student, submission[, ref, before, submitted_at]), "
        "then write the class summary.",
    )
    parser.add_argument("roster", help="roster CSV file")
    parser.add_argument("--out", required=True, help="folder for one sub-folder per student, summary.html and gradebook.csv")
    _run_options(parser)
    return parser


def _run_options(parser: argparse.ArgumentParser) -> None:
    """What `grade` and `grade batch` share: how to fetch, run and score a submission."""
    _common(parser)
    parser.add_argument("--budget", type=float, help="time budget in seconds (default: the profile's)")
    parser.add_argument("--device", help="cpu, gpu or ascend, optionally with ids: ascend:0 (default: the profile's)")
    parser.add_argument("--device-ids", help="physical device ids, comma-separated (same as DEVICE:IDS)")
    parser.add_argument("--python", help="interpreter that runs the student's code (default: the profile's, else the grader's)")
    parser.add_argument("--ref", help="git: branch, tag or commit to grade (default: the default branch)")
    parser.add_argument("--before", help="git: grade the last commit before this date-time (ISO 8601; local time without an offset)")
    parser.add_argument("--hide", action="append", default=[], help="another path the student's run must not read (repeatable)")
    _rubric_options(parser)


def _options(args) -> pipeline.RunOptions:
    return pipeline.RunOptions(args.ref, args.before, args.device, args.device_ids, args.python, tuple(args.hide))


def _rubric_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rubric", help="rubric name in rubrics/ or a YAML path (default: default)")
    parser.add_argument("--submitted-at", help="submission time, ISO 8601 with a time zone (default: date of the last commit touching it)")


def _rescore_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grade rescore", description="Judge stored evidence again and score it with a rubric; nothing is trained."
    )
    parser.add_argument("folders", nargs="+", help="folders written by `grade` (holding evidence/)")
    parser.add_argument("--profile", help="profile, when the folder does not record it")
    parser.add_argument("--out", help="write the outputs here instead of over the folder's (one folder only)")
    _rubric_options(parser)
    return parser


def _batch(args) -> int:
    profile = profiles.load(args.profile, args.model_dir)
    when = submitted.parse(args.submitted_at) if args.submitted_at else None
    rows = batch.grade_class(
        Path(args.roster), profile, data.locate(args.data), Path(args.out), args.budget, _options(args), rubric_io.load(args.rubric), when
    )
    print(f"\n{len(rows)} students -> {Path(args.out) / files.SUMMARY}")
    return 0 if all(row.status == "passed" for row in rows) else 1


def _summary_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grade summary", description="Write a class summary.html and gradebook.csv from graded folders.")
    parser.add_argument("folders", nargs="+", help="folders written by `grade` or `grade rescore`")
    parser.add_argument("--out", required=True, help="folder for summary.html and gradebook.csv")
    return parser


def _print_scored(scored) -> None:
    for c in scored.criteria + scored.unscored:
        flag = " (info)" if c.informational else "" if c.required else " (optional)"
        print(f"[{c.status:>7}] {c.score:g}/{c.max_score:g} {c.name}{flag}: {c.message}")
    for warning in scored.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if scored.late.penalty_percent:
        print(f"late: {scored.late.message}")


def _rescore(args) -> int:
    if args.out and len(args.folders) > 1:
        raise CannotGrade("--out takes one folder; without it each folder's outputs are rewritten in place")
    rubric = rubric_io.load(args.rubric)
    when = submitted.parse(args.submitted_at) if args.submitted_at else None
    worst = 0
    for folder in args.folders:
        scored = rescore.rescore(Path(folder), rubric, Path(args.out) if args.out else None, args.profile, when)
        _print_scored(scored)
        print(f"{scored.verdict.upper()}: {scored.score:g}/{scored.max_score:g}  ->  {args.out or folder}\n")
        worst = max(worst, 0 if scored.passed else 1)
    return worst


def _summary(args) -> int:
    path, rows = summary.write([Path(f) for f in args.folders], Path(args.out))
    for row in rows:
        print(f"{row.student}: {row.status}" + (f" ({row.problem})" if row.problem else ""))
    print(f"\n{len(rows)} submissions  ->  {path}, {Path(args.out) / files.GRADEBOOK}")
    return 0


def _calibrate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grade calibrate", description="Run the reference solution and store what the checks compare against."
    )
    _common(parser)
    parser.add_argument(
        "--no-train", action="store_true", help="count parameters only; take metrics from the profile's cited reference runs"
    )
    parser.add_argument("--out", help="calibration file (default reference/calibration/PROFILE.json)")
    return parser


def _prepare_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grade prepare", description="Build a generated profile's model and tokenizer into the cache.")
    _common(parser)
    return parser


def _calibrate(args) -> int:
    profile = profiles.load(args.profile, args.model_dir)
    train = not args.no_train
    if train and profile.source != "generated":
        try:
            has_weights = any(profile.model_dir().glob("*.safetensors")) or any(profile.model_dir().glob("*.bin"))
        except CannotGrade:
            has_weights = False
        if not has_weights:
            print(f"no weights for {profile.name}: counting parameters only; metrics from the profile's cited runs", file=sys.stderr)
            train = False
    mrpc = data.locate(args.data)
    with tempfile.TemporaryDirectory(prefix="calibrate-") as work:
        result = calibrate.calibrate(profile, mrpc, train, Path(work))
    path = calibration.save(result, Path(args.out) if args.out else calibration.path_for(profile.name))
    s = result.structure
    print(
        f"{profile.name}: {s.trainable_parameters:,} trainable of {s.all_parameters:,}; "
        f"reference {result.reference_run.metrics}; thresholds {result.thresholds}"
    )
    print(f"written to {path}")
    return 0


def _grade(args) -> int:
    profile = profiles.load(args.profile, args.model_dir)
    submission = args.submission
    out = Path(args.out or Path("grade-results") / (Path(submission.rstrip("/")).stem or "submission"))
    rubric = rubric_io.load(args.rubric)
    when = submitted.parse(args.submitted_at) if args.submitted_at else None
    mrpc = data.locate(args.data)
    try:
        scored = pipeline.grade(submission, profile, mrpc, out, args.budget, _options(args), rubric, when)
    except CannotGrade:
        raise
    except Exception as exc:  # the grader's own fault: say so where Gradescope and CI look
        files.write_not_graded(out, f"{type(exc).__name__}: {exc}")
        raise
    _print_scored(scored)
    print(f"\n{scored.verdict.upper()}: {scored.score:g}/{scored.max_score:g}  ->  {out / files.RESULTS}, {out / files.REPORT}")
    return 0 if scored.passed else 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "calibrate":
            return _calibrate(_calibrate_parser().parse_args(argv[1:]))
        if argv and argv[0] == "prepare":
            args = _prepare_parser().parse_args(argv[1:])
            profile = profiles.load(args.profile, args.model_dir)
            print(model_files.ensure(profile, data.locate(args.data) if profile.source == "generated" else None))
            return 0
        if argv and argv[0] == "rescore":
            return _rescore(_rescore_parser().parse_args(argv[1:]))
        if argv and argv[0] == "batch":
            return _batch(_batch_parser().parse_args(argv[1:]))
        if argv and argv[0] == "summary":
            return _summary(_summary_parser().parse_args(argv[1:]))
        return _grade(_grade_parser().parse_args(argv))
    except CannotGrade as exc:
        print(f"grade: cannot grade: {exc}", file=sys.stderr)
        return EXIT_CANNOT_GRADE
    except Exception:
        traceback.print_exc()
        print("grade: internal error of the grader (not of the submission); results.json says it was not graded", file=sys.stderr)
        return EXIT_GRADER_ERROR


if __name__ == "__main__":
    sys.exit(main())
