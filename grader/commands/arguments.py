"""The `grade` command's arguments: every command and option, each with its help, and a parser
that answers a mistyped option with the closest one. cli.py dispatches them."""

from __future__ import annotations

import argparse
import difflib
import sys
import textwrap

from grader import __version__
from grader.commands import autograder, check
from grader.course import data
from grader.run import isolation

EXIT_CODES = """exit status:
  0    graded, every required criterion passed (check: nothing wrong found)
  1    graded, a required criterion failed (check: a problem found)
  2    could not grade: bad arguments, unknown command or option, broken rubric or roster,
       unknown profile, missing model, data or device
  3    an error of the grader itself, not of the submission (results.json says it was not graded)
  130  interrupted (batch: what finished is kept; the same command again resumes)"""


class Parser(argparse.ArgumentParser):
    """argparse that names the close match of a mistyped option before parsing, and takes no
    abbreviations (a typo such as `--dat` is never taken for --data)."""

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
            if option in known:  # whole names only: `--dat` is a typo of --data, never an abbreviation of it
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
        "--submitted-from",
        choices=("commit", "fetch"),
        default="commit",
        help="the time a late penalty uses when --submitted-at (or the roster's submitted_at) gives none: commit, the "
        "committer date, which the student's machine sets (default); fetch, when the grader cloned the URL",
    )
    _isolation_options(parser)
    _rubric_options(parser)


def _isolation_options(parser: argparse.ArgumentParser) -> None:
    """One policy for grading and checking (run/isolation.py); every output names the mode used."""
    parser.add_argument(
        "--isolation",
        choices=isolation.MODES,
        help="sandbox: bubblewrap (the default); container: no bubblewrap, on a disposable container made for this one "
        "submission (Gradescope): the limits, and the run as a uid of its own; none: the limits only. Without it, a "
        "machine where bubblewrap cannot run refuses (exit 3), except a self-check, which runs with none and says so",
    )
    parser.add_argument(
        "--unsafe-no-sandbox", dest="isolation", action="store_const", const=isolation.NONE, help="the same as --isolation none"
    )


def build_parser() -> Parser:
    top = Parser(
        prog="grade",
        usage="grade SUBMISSION [options]      (same as: grade run SUBMISSION)\n       grade COMMAND [options]\n       grade --version",
        description="Grade IA3 fine-tuning homework (MindSpore + MindNLP, RoBERTa on GLUE-MRPC).",
        epilog=f"`grade COMMAND --help` lists a command's options.\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
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
            allow_abbrev=False,
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
    run.add_argument("--student", metavar="NAME", help="the student's name, shown in their report and the gradebook (batch: the roster's)")
    run.add_argument("--evaluator", metavar="SOCKET", help=argparse.SUPPRESS)  # a batch worker: the slot's evaluator, token in the env

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
    _isolation_options(chk)

    bat = command(
        "batch",
        "grade every student of a roster CSV, then the class summary (resumable)",
        "Grade every student of a roster CSV (columns: student, submission[, ref, before, submitted_at], and any of your own), "
        "several at once, then write the class summary and gradebook.csv. DIR/gradebook.sqlite records each student's state: "
        "the same command again grades only what is not graded yet.",
    )
    bat.add_argument("roster", metavar="ROSTER", help="roster CSV file (submission paths are relative to it)")
    bat.add_argument("--out", metavar="DIR", required=True, help="folder for one sub-folder per student, summary.html and gradebook.csv")
    _run_options(bat, "default: roberta-large")
    bat.add_argument("--devices", metavar="KIND:IDS", help="one slot per device, e.g. ascend:0-7 or gpu:0,1 (never two trainings on one)")
    bat.add_argument("--jobs", type=int, metavar="N", help="N slots on the CPU")
    bat.add_argument(
        "--regrade",
        nargs="*",
        metavar="STUDENT",
        help="grade again even if graded: every student, or the students named (put it after ROSTER)",
    )
    bat.add_argument("--executor", choices=("local", "ray"), default="local", help="local slots (default) or a Ray cluster")
    bat.add_argument("--address", metavar="ADDR", help="Ray: the cluster's address, e.g. 10.0.0.1:6379 (default: start a local one)")
    bat.add_argument(
        "--ray-resource",
        metavar="NAME",
        help="Ray: the resource each actor (one grading at a time) holds (default by device: NPU on ascend, GPU on gpu, else CPU)",
    )

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
    _autograder_options(command("autograder", "write a course's GitHub Actions workflow or Gradescope autograder"))
    return top


def _autograder_options(parent: argparse.ArgumentParser) -> None:
    targets = parent.add_subparsers(dest="target", title="targets", metavar="TARGET", required=True)

    def target(name: str, description: str) -> argparse.ArgumentParser:
        sub = targets.add_parser(
            name,
            prog=f"grade autograder {name}",
            help=description,
            description=textwrap.fill(description, 100),
            epilog=EXIT_CODES,
            allow_abbrev=False,
        )
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
        sub.add_argument("--out", metavar="DIR", required=True, help="folder to write into")
        sub.add_argument("--profile", default="tiny", help="profile to grade on (default tiny; one that trains on the CPU)")
        sub.add_argument("--rubric", help="rubric name in rubrics/ or a YAML path, copied beside the files (default: default)")
        sub.add_argument(
            "--grader-spec",
            metavar="SPEC",
            help="what pip installs as the grader: a name==version on your index, a wheel URL or a git URL; it must install "
            "from here (checked). Default: this grader's own wheel, carried in the bundle",
        )
        sub.add_argument("--wheel", metavar="FILE", help="carry this grader wheel in the bundle and install it (instead of --grader-spec)")
        return sub

    gh = target(
        "github",
        "A GitHub Actions workflow for a course repository: .github/workflows/grade.yml (classroom.yml with --classroom) "
        "and .github/grader/ (rubric, lock file). It installs the grader with pip's cache, grades the repository, "
        "uploads report.html, writes the summary and fails when a required criterion fails.",
    )
    gh.add_argument("--classroom", action="store_true", help="GitHub Classroom: one reporter runner per rubric criterion")
    gh.add_argument(
        "--assets",
        choices=autograder.ASSETS,
        help="where model and data come from: hub (hosted runner, cached), release (a private release's mrpc.tar.gz), "
        "runner (the course's self-hosted runner holds them); default hub for CPU profiles, runner otherwise",
    )
    gh.add_argument("--runs-on", metavar="LABELS", help="runner labels, comma-separated (default ubuntu-24.04; self-hosted,linux,ascend)")
    gh.add_argument("--submission", default=".", metavar="PATH", help="the submission inside the repository (default: the repository)")
    gh.add_argument("--release-repo", default="", metavar="OWNER/NAME", help="with --assets release: the repository holding the release")
    gh.add_argument("--release-tag", default="grader-assets", metavar="TAG", help="with --assets release: its tag (default grader-assets)")
    gh.add_argument("--timeout-minutes", type=int, metavar="N", help="the job's time limit (default 60 hosted, 360 self-hosted)")

    gs = target(
        "gradescope",
        "A Gradescope autograder: setup.sh, run_autograder, the rubric and lock file, and autograder.zip holding them, "
        "per Gradescope's autograder specification.",
    )
    gs.add_argument("--data", metavar="DIR", help="bundle GLUE-MRPC (JSON lines) from DIR instead of fetching it from the hub at setup")
