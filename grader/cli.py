"""The `grade` command.

  grade SUBMISSION [--profile P] [--budget SECONDS] [--out DIR]   grade one submission
        [--device cpu|gpu|ascend[:IDS]] [--python PATH] [--ref REF] [--before DATETIME]
  grade calibrate --profile P [--no-train]                         run the reference, store the truth
  grade prepare --profile P                                        build a generated model into the cache

Exit status: 0 every required check passed, 1 graded with a failing check, 2 could not grade.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from . import calibration, data, pipeline, profiles
from .errors import CannotGrade

COMMANDS = ("calibrate", "prepare")
DEFAULT_PROFILE = os.environ.get("GRADER_PROFILE", "roberta-large")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default=DEFAULT_PROFILE, help=f"model profile (default {DEFAULT_PROFILE}; $GRADER_PROFILE)")
    parser.add_argument("--data", help=f"GLUE-MRPC directory (JSON lines or GLUE TSV; default ${data.ENV_VAR})")
    parser.add_argument("--model-dir", help="local model directory (overrides the profile's)")


def _grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grade", description="Grade an IA3 fine-tuning submission (MindNLP, GLUE-MRPC).",
                                     epilog="Other commands: grade calibrate --help, grade prepare --help")
    parser.add_argument("submission", help="folder, .py script, .ipynb notebook, .zip, or git repository (URL or path)")
    _common(parser)
    parser.add_argument("--budget", type=float, help="time budget in seconds (default: the profile's)")
    parser.add_argument("--out", help="output directory (default ./grade-results/NAME)")
    parser.add_argument("--device", help="cpu, gpu or ascend, optionally with ids: ascend:0 (default: the profile's)")
    parser.add_argument("--device-ids", help="physical device ids, comma-separated (same as DEVICE:IDS)")
    parser.add_argument("--python", help="interpreter that runs the student's code (default: the profile's, else the grader's)")
    parser.add_argument("--ref", help="git: branch, tag or commit to grade (default: the default branch)")
    parser.add_argument("--before", help="git: grade the last commit before this date-time (ISO 8601; local time without an offset)")
    parser.add_argument("--hide", action="append", default=[], help="another path the student's run must not read (repeatable)")
    return parser


def _calibrate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grade calibrate", description="Run the reference solution and store what the checks compare against.")
    _common(parser)
    parser.add_argument("--no-train", action="store_true", help="count parameters only; take metrics from the profile's cited reference runs")
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
        result = calibration.calibrate(profile, mrpc, train, Path(work))
    path = calibration.save(result, Path(args.out) if args.out else calibration.path_for(profile.name))
    s = result["structure"]
    print(f"{profile.name}: {s['trainable_parameters']:,} trainable of {s['all_parameters']:,}; "
          f"reference {result['reference_run']['metrics']}; thresholds {result['thresholds']}")
    print(f"written to {path}")
    return 0


def _grade(args) -> int:
    profile = profiles.load(args.profile, args.model_dir)
    submission = args.submission
    out = Path(args.out or Path("grade-results") / (Path(submission.rstrip("/")).stem or "submission"))
    options = pipeline.RunOptions(args.ref, args.before, args.device, args.device_ids, args.python, tuple(args.hide))
    result = pipeline.grade(submission, profile, data.locate(args.data), out, args.budget, options)
    for check in result.checks:
        flag = "" if check.required else " (info)"
        print(f"[{check.status:>7}] {check.name}{flag}: {check.message}")
    print(f"\n{result.verdict.upper()}: {result.score:g}/{result.max_score:g}  ->  {out / 'results.json'}, {out / 'report.html'}")
    return 0 if result.passed else 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "calibrate":
            return _calibrate(_calibrate_parser().parse_args(argv[1:]))
        if argv and argv[0] == "prepare":
            args = _prepare_parser().parse_args(argv[1:])
            profile = profiles.load(args.profile, args.model_dir)
            print(profile.ensure_model())
            return 0
        return _grade(_grade_parser().parse_args(argv))
    except CannotGrade as exc:
        print(f"grade: cannot grade: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
