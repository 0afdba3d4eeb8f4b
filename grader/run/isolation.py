"""Which isolation a grading's run gets, and why: one policy for `grade`, `grade check` and
`grade batch`, named in every output.

sandbox    bubblewrap's allow-listed root (jail.py). The default, and the only mode chosen
           without being asked for, except for a self-check.
container  no bubblewrap: the machine is a disposable container made for this one submission
           (Gradescope runs each submission in one, and Docker's defaults refuse bubblewrap's
           namespaces). The run gets the limits and, when the grader is root, a uid of its own
           with no capabilities and no_new_privs: it cannot change the grader's installed files,
           the labelled data kept 0600, or the results written after it; every process of that
           uid is ended when the run is over.
none       the limits only, as the grader's own user (--unsafe-no-sandbox). A student's
           self-check on their own machine needs no sandbox against themselves.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.errors import CannotGrade, SandboxUnavailable
from grader.run import jail

SANDBOX, CONTAINER, NONE = "sandbox", "container", "none"
MODES = (SANDBOX, CONTAINER, NONE)
LABELS = {
    SANDBOX: "sandbox (bubblewrap)",
    CONTAINER: "disposable container, no sandbox",
    NONE: "none: no sandbox",
}
INSTALL_HINT = "apt-get install bubblewrap (Debian/Ubuntu; install.sh does it)"


@dataclass(frozen=True)
class Isolation:
    """The mode a run gets and why; `refused` is bubblewrap's own reason when it cannot run here."""

    mode: str
    why: str
    refused: str | None = None

    def describe(self) -> str:
        """One line for every output: "isolation: disposable container, no sandbox (bubblewrap refused: ...)"."""
        return f"isolation: {LABELS[self.mode]} ({self.why})"

    def to_dict(self) -> dict:
        return asdict(self) | {"label": self.describe()}


def bubblewrap_refusal() -> str | None:
    """Why bubblewrap cannot build a root here, or None when it can."""
    try:
        jail.check()
    except jail.Unavailable as exc:
        return str(exc)
    return None


def decide(requested: str | None, self_check: bool = False) -> Isolation:
    """The isolation for a run. `requested` is --isolation (None: not given). A self-check
    (`grade check`, or `grade` with nothing configured on a machine without the course model)
    runs without the sandbox where bubblewrap cannot, and says so; anything else that asked for
    no mode refuses there (SandboxUnavailable: exit status 3), naming what to install and the
    modes that grade without it."""
    if requested is not None and requested not in MODES:
        raise ValueError(f"isolation {requested!r}: one of {', '.join(MODES)}")
    if requested == NONE:
        refused = bubblewrap_refusal()
        return Isolation(NONE, "asked for: --isolation none" + (f"; bubblewrap refused: {refused}" if refused else ""), refused)
    if requested == CONTAINER:
        if os.geteuid() == 0 and not shutil.which("setpriv"):
            raise SandboxUnavailable(
                "setpriv (util-linux) is not installed: a container grading cannot start the run as a user of its own",
                "setpriv missing",
            )
        refused = bubblewrap_refusal()
        why = f"bubblewrap refused: {refused}" if refused else "asked for: --isolation container, though bubblewrap works here"
        if os.geteuid() != 0:
            why += "; the grader is not root, so the run has the grader's own user"
        return Isolation(CONTAINER, why, refused)
    refused = bubblewrap_refusal()
    if refused is None:
        return Isolation(SANDBOX, "bubblewrap built the root of the run")
    if requested is None and self_check:
        return Isolation(
            NONE,
            f"a self-check on your own machine needs no sandbox against yourself; bubblewrap refused: {refused}; "
            + f"for the sandbox: {INSTALL_HINT}",
            refused,
        )
    raise SandboxUnavailable(
        f"no sandbox can be built here: {refused}. To sandbox: {INSTALL_HINT}. Without a sandbox a student's code can read "
        + "and change what the grader keeps: on a disposable container made for one submission pass --isolation container, "
        + "elsewhere --isolation none (--unsafe-no-sandbox) grades anyway; every output then says so",
        refused,
    )


def readable_by_others(path: Path) -> bool:
    """Whether a user who is neither the owner nor in the file's group (a run's own uid, with no
    groups) can read `path`: every folder above it lets others through, and it lets them read."""
    path = Path(path).absolute()
    for folder in path.parents:
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)


def require_labels_closed(mrpc_dir: Path) -> None:
    """Container isolation shows the run every file its uid may read: refuse to grade while the
    grader's labelled test split is one of them (CannotGrade, with the command that closes it)."""
    exposed = [p for p in sorted(Path(mrpc_dir).glob("test.*")) if p.is_file() and readable_by_others(p)]
    if exposed:
        raise CannotGrade(
            f"{exposed[0]} holds the labelled test split and any user here may read it, so a run graded with "
            + f"--isolation container could: make it root's only (chmod 0600 {exposed[0]}, or chmod 0700 on its folder)"
        )


def require_model_open(model_dir: Path) -> None:
    """Container isolation: the run's own uid reads the base model where it lies; a model folder
    closed to it would fail every student for the grader's reason, so refuse instead."""
    config = Path(model_dir) / "config.json"
    if config.is_file() and not readable_by_others(config):
        raise CannotGrade(
            f"{model_dir} is closed to other users, so a run graded with --isolation container could not load the base "
            + "model: open it to them read-only (chmod -R o+rX on it and o+x on the folders above it)"
        )
