"""`grade autograder github|gradescope`: a course's CI workflow or Gradescope autograder, rendered
from the templates in templates/autograder/ for one profile and one rubric.

Both copy the rubric, the lock file and the grader's own wheel beside what they write, so the
course's CI grades with exactly the rubric the workflow's Classroom runners were laid out for and
installs the tested versions of everything, the grader included (it is on no package index).
What a hosted runner or Gradescope's CPU machines cannot grade (a profile whose device is not the
CPU: roberta-large trains on Ascend) is refused with the way to grade it instead.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from grader import __version__
from grader.commands import own_wheel
from grader.course import profiles
from grader.errors import CannotGrade
from grader.outputs import classroom
from grader.paths import TEMPLATES_DIR, lock_file
from grader.scoring import rubric as rubric_io

TEMPLATES = TEMPLATES_DIR / "autograder"
GRADER_DIR = Path(".github") / "grader"  # in the course repository: rubric, lock, results for a grading that wrote none
NOT_GRADED = "not-graded.txt"
ASSETS = ("hub", "release", "runner")
HOSTED_RUNNER = "ubuntu-24.04"
NPU_RUNNER = "self-hosted,linux,ascend"
NOT_GRADED_REASON = (
    "The grader wrote no result for this criterion: it stopped before scoring (a missing model or data, a broken rubric, "
    "or an error of its own). The Install and Grade steps of this workflow's log say why."
)


def environment() -> Environment:
    """Jinja with delimiters that GitHub's `${{ }}` and shell's `${#x}` leave alone."""
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        block_start_string="@%",
        block_end_string="%@",
        variable_start_string="@{",
        variable_end_string="}@",
        comment_start_string="@#",
        comment_end_string="#@",
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def installable(grader_spec: str | None, wheel: Path | None, folder: Path, shown_as: str) -> tuple[str, list[Path]]:
    """What the bundle's pip installs as the grader, and the files that puts in `folder`: the
    wheel given, a spec that pip can fetch from here, or, by default, this grader's own wheel.
    `shown_as` is the folder as the bundle's scripts name it."""
    if wheel is not None:
        if not wheel.is_file() or wheel.suffix != ".whl":
            raise CannotGrade(f"--wheel {wheel}: not a wheel file (build one with `pip wheel --no-deps -w dist .`)")
        return f"{shown_as}/{wheel.name}", [_copy(wheel, folder / wheel.name)]
    if grader_spec:
        own_wheel.check_spec(grader_spec)
        return grader_spec, []
    built = own_wheel.build(folder)
    return f"{shown_as}/{built.name}", [built]


def _cpu_profile(name: str, where: str, instead: str) -> profiles.Profile:
    profile = profiles.load(name)
    if profile.device.lower() != "cpu":
        raise CannotGrade(f"profile {name!r} trains on {profile.device}, and {where} only a CPU. {instead}")
    return profile


@dataclass(frozen=True)
class GithubOptions:
    out: Path
    classroom: bool
    profile: str
    rubric: str | None
    grader_spec: str | None
    wheel: Path | None
    assets: str | None
    runs_on: str | None
    submission: str
    release_repo: str
    release_tag: str
    timeout_minutes: int | None


def github(options: GithubOptions) -> list[Path]:
    """The workflow and its .github/grader/ files, written under `options.out`."""
    assets = options.assets or ("hub" if profiles.load(options.profile).device.lower() == "cpu" else "runner")
    if assets not in ASSETS:
        raise CannotGrade(f"--assets {assets!r}: one of {', '.join(ASSETS)}")
    if assets != "runner":
        _cpu_profile(
            options.profile,
            "a GitHub-hosted runner has",
            "Grade it on the course's own runner: --assets runner --runs-on 'self-hosted,linux,ascend' (the labels "
            "of a runner with the NPU, the model and the data), or on a hosted runner with --profile tiny as a self-check.",
        )
    if assets == "release" and not options.release_repo:
        raise CannotGrade("--assets release needs --release-repo OWNER/NAME (a private repository whose release holds mrpc.tar.gz)")
    path = rubric_io.resolve(options.rubric)
    rubric = rubric_io.load(path)
    plan = classroom.layout(rubric)
    grader_dir = options.out / GRADER_DIR
    spec, carried = installable(options.grader_spec, options.wheel, grader_dir, GRADER_DIR.as_posix())
    written = [_copy(path, grader_dir / "rubric.yaml"), _copy(lock_file(), grader_dir / "requirements.lock"), *carried]
    if options.classroom:
        lines = classroom.output_lines(classroom.not_graded(rubric, NOT_GRADED_REASON))
        written.append(_write(grader_dir / NOT_GRADED, lines))
    runs_on = options.runs_on or (NPU_RUNNER if assets == "runner" else HOSTED_RUNNER)
    context = {
        "version": __version__,
        "classroom": options.classroom,
        "profile": options.profile,
        "rubric_name": rubric.name,
        "grader_dir": GRADER_DIR.as_posix(),
        "grader_spec": spec,
        "assets": assets,
        "runs_on": [label.strip() for label in runs_on.split(",") if label.strip()],
        "hosted": assets != "runner",
        "submission": options.submission.strip("/") or ".",
        "release_repo": options.release_repo,
        "release_tag": options.release_tag,
        "timeout_minutes": options.timeout_minutes or (60 if assets != "runner" else 360),
        "runners": [(rid, f"{rid.upper()}_RESULTS") for rid in plan.ids()],
        "not_graded": NOT_GRADED,
    }
    name = "classroom.yml" if options.classroom else "grade.yml"
    workflow = options.out / ".github" / "workflows" / name
    workflow.parent.mkdir(parents=True, exist_ok=True)
    written.append(_write(workflow, environment().get_template("github/workflow.yml.j2").render(**context)))
    return written


@dataclass(frozen=True)
class GradescopeOptions:
    out: Path
    profile: str
    rubric: str | None
    grader_spec: str | None
    wheel: Path | None
    data: Path | None


def gradescope(options: GradescopeOptions) -> list[Path]:
    """setup.sh, run_autograder, the rubric and lock (and the wheel and data when given) under
    `options.out`, and autograder.zip holding them at its top level as Gradescope expects."""
    _cpu_profile(
        options.profile,
        "Gradescope's autograder machines have",
        "Grade on the course's hardware with `grade batch` and upload the scores, or use --profile tiny as a self-check.",
    )
    path = rubric_io.resolve(options.rubric)
    rubric_io.load(path)  # a broken rubric stops here, not on Gradescope
    source = options.out
    install, carried = installable(options.grader_spec, options.wheel, source, "$SOURCE")
    files = [_copy(path, source / "rubric.yaml"), _copy(lock_file(), source / "requirements.lock"), *carried]
    data_files = []
    if options.data:
        for split in ("train", "validation", "test"):
            found = options.data / f"{split}.jsonl"
            if found.is_file():
                data_files.append(_copy(found, source / "mrpc" / found.name))
        if not data_files:
            raise CannotGrade(f"--data {options.data}: no train/validation/test .jsonl files (GLUE-MRPC as JSON lines)")
    context = {"version": __version__, "profile": options.profile, "install": install, "bundled_data": bool(data_files)}
    scripts = [
        _write(source / "setup.sh", environment().get_template("gradescope/setup.sh.j2").render(**context), executable=True),
        _write(source / "run_autograder", environment().get_template("gradescope/run_autograder.j2").render(**context), executable=True),
    ]
    archive = source / "autograder.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for item in scripts + files + data_files:
            info = zipfile.ZipInfo.from_file(item, item.relative_to(source).as_posix())
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, item.read_bytes())
    return [*scripts, *files, *data_files, archive]


def _copy(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def _write(path: Path, text: str, executable: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path
