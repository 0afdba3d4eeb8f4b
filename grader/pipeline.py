"""The spine: one submission through the stages, in order.

intake/    the submission as handed in -> a private workspace with an entry point
run/       the workspace -> a sandboxed, budgeted, offline run and the traces it left
evidence/  those traces -> the evidence record, the kept adapter, the grader's evaluation
checks/    the evidence -> a judgement (what is true, check by check; no points)
scoring/   the judgement + a rubric -> points, late penalty and the verdict
outputs/   the scored result -> results.json, reports, JUnit, Classroom, CSV, scored.json
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from grader.checks.judge import judge
from grader.course import calibration, course_fingerprints, model_files
from grader.course.profiles import Profile
from grader.evidence import code_fingerprint, collect
from grader.evidence.evaluator import Evaluator
from grader.evidence.findings import Findings
from grader.evidence.record import LOGS_DIR, PROBE_DIR, Evidence
from grader.intake import sources, submitted, workspace
from grader.outputs import files
from grader.run import devices, environment, execute, isolation, private_area
from grader.scoring import rubric as rubric_io
from grader.scoring.rubric import Rubric
from grader.scoring.score import ScoredResult, score


class Progress:
    """Told of each phase of one grading (model, fetch, copy, run, evaluate, score) and, while the
    student's program runs, of the time it has taken; a terminal shows it. This one shows nothing."""

    def phase(self, name: str, detail: str = "") -> None:
        pass

    def running(self, elapsed: float, budget: float, logs: Path) -> None:
        pass

    def finished(self) -> None:
        pass


class PhaseClock(Progress):
    """Passes each phase on to the progress shown, and keeps how long each one took: JUnit and
    the report give a grading's real times, not zeros."""

    def __init__(self, shown: Progress):
        self.shown = shown
        self.seconds: dict[str, float] = {}
        self._current: tuple[str, float] | None = None

    def _stop(self) -> None:
        if self._current:
            name, started = self._current
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.monotonic() - started, 3)
            self._current = None

    def phase(self, name: str, detail: str = "") -> None:
        self._stop()
        self._current = (name, time.monotonic())
        self.shown.phase(name, detail)

    def running(self, elapsed: float, budget: float, logs: Path) -> None:
        self.shown.running(elapsed, budget, logs)

    def finished(self) -> None:
        self._stop()
        self.shown.finished()


@dataclass
class RunOptions:
    """How to fetch and run one submission, beyond the profile (command-line options)."""

    ref: str | None = None  # git branch, tag or commit
    before: str | None = None  # git: the last commit before this date-time
    device: str | None = None  # cpu | gpu | ascend[:ids]; default: the profile's
    device_ids: str | None = None
    python: str | None = None  # the student's interpreter; default: the profile's, else the grader's
    isolation: str | None = None  # --isolation: sandbox, container or none (None: the sandbox; see run/isolation.py)
    student: str | None = None  # the student's name (the roster's, or `--student`), shown in their report
    submitted_from: str = submitted.COMMIT  # the time a late penalty uses when none is given: commit or fetch
    self_check: bool = False  # nothing configured, a fallback profile: without bubblewrap, run with none and say so


EVALUATOR_LOG = "evaluator.log"  # what the evaluator's libraries wrote, inside the evidence logs


def _intake(submission: str, private: Path, options: RunOptions, progress: Progress) -> tuple[workspace.Workspace, sources.Source | None]:
    progress.phase("fetch", submission)
    try:
        src = sources.fetch(submission, private / "source", options.ref, options.before)
    except sources.Refused as exc:
        return workspace.Workspace(private / "work", None, f"submission refused: {exc}"), None
    progress.phase("copy", "a private copy, without earlier results")
    return workspace.prepare(Path(src.path), private / "work"), src


def run_and_measure(
    submission,
    profile: Profile,
    mrpc_dir: Path,
    evidence_dir: Path,
    budget: float,
    options: RunOptions | None = None,
    progress: Progress | None = None,
    evaluator: Evaluator | None = None,
) -> Findings:
    """Run the submission on a private copy and collect the facts; judges nothing. With no
    `evaluator` given (a batch gives one per slot), the grading has its own, started when needed
    (Evaluator.start): once the run has lasted long enough for its loading to overlap the
    training, or once an adapter is there to evaluate; a run that ends early without one never
    loads the base model a second time. It is closed at the end."""
    evidence_dir = Path(evidence_dir).absolute()  # recorded paths must not depend on the current directory
    options, progress = options or RunOptions(), progress or Progress()
    progress.phase("model", f"{profile.name} base model")
    model_dir = model_files.ensure(profile, mrpc_dir)
    device = devices.check(devices.parse(options.device or profile.device, options.device_ids))  # before anything runs
    python = environment.interpreter(options.python, profile)
    chosen = isolation.decide(options.isolation, options.self_check)  # refuses here, before anything runs
    if chosen.mode == isolation.CONTAINER and os.geteuid() == 0:
        isolation.require_labels_closed(mrpc_dir)
        isolation.require_model_open(model_dir)
    disk = environment.sandbox_for(profile, device).disk_bytes
    own = Evaluator.start(profile, model_dir, mrpc_dir, device, when_needed=True) if evaluator is None else None
    try:
        with private_area.private_area("grade-", disk) as private:
            ws, src = _intake(str(submission), private, options, progress)
            evidence_dir.mkdir(parents=True, exist_ok=True)  # only once there is a submission to grade
            ev = Evidence(
                str(submission),
                ws.entry.name if ws.entry else None,
                ws.entry_problem,
                None,
                collect.OUTPUT_LABEL,
                source=src.to_dict() if src else None,
                device=device.describe(),
                not_copied=list(ws.not_copied),
                code=code_fingerprint.of_folder(ws.root) if ws.entry else None,
                isolation=chosen.to_dict(),
                course_base=course_fingerprints.load(model_dir).to_dict(),
            )
            request = execute.RunRequest(
                profile,
                model_dir,
                mrpc_dir,
                device,
                python,
                budget,
                evidence_dir / LOGS_DIR,
                evidence_dir / PROBE_DIR,
                chosen,
            )

            def watch(elapsed: float, logs: Path, _probe: Path) -> bool:
                if own is not None:
                    own.start_when_needed(elapsed)
                return progress.running(elapsed, budget, logs) or False

            request.watch = watch
            progress.phase("run", f"{ws.entry.name if ws.entry else 'no entry point'} on {device.describe()}, budget {budget:g} s")
            logs = collect.collect(ev, ws, execute.run(ws, request, private), evidence_dir)
            progress.phase("evaluate", "the grader's own evaluation of the saved adapter")
            if ev.adapter_dir and own:
                evaluator = own  # starts now if the run was too short to have started it
            findings = collect.evaluate(ev, profile, model_dir, mrpc_dir, evidence_dir, device, logs, evaluator)
            ev.save(evidence_dir)
            return findings
    finally:
        if own is not None:  # its library output (once it started) is kept beside the run's logs
            own.close(keep_log=evidence_dir / LOGS_DIR / EVALUATOR_LOG if evidence_dir.is_dir() else None)


def score_and_write(result, out_dir: Path, rubric: Rubric, submitted_at: str | None, time_source: str) -> ScoredResult:
    scored = score(result, rubric, submitted_at, time_source)
    files.write_all(scored, out_dir)
    return scored


def grade(
    submission,
    profile: Profile,
    mrpc_dir: Path,
    out_dir: Path,
    budget: float | None = None,
    options: RunOptions | None = None,
    rubric: Rubric | None = None,
    submitted_at: str | None = None,
    student: str = "",
    progress: Progress | None = None,
    evaluator: Evaluator | None = None,
) -> ScoredResult:
    rubric = rubric or rubric_io.load()  # a broken rubric stops before any training
    cal = calibration.load_for(profile.name)
    started = time.monotonic()
    clock = PhaseClock(progress or Progress())
    evidence = out_dir / files.EVIDENCE_DIR
    findings = run_and_measure(submission, profile, mrpc_dir, evidence, budget or profile.budget_seconds, options, clock, evaluator)
    clock.phase("score", "checks and rubric")
    result = judge(findings, cal, profile, time.monotonic() - started)
    result.student = student or (options.student if options else None) or ""
    use = options.submitted_from if options else submitted.COMMIT
    when, how = submitted.determine(submission, submitted_at, findings.evidence.source, use)
    clock.finished()  # the phases end before the outputs are written, so that they can show them
    result.phases = clock.seconds
    return score_and_write(result, out_dir, rubric, when, how)
