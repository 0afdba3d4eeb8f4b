"""The allow-listed root a run sees, built by bubblewrap (`bwrap`): the system's programs and
libraries, the student's interpreter, the grader's hooks and the base model read-only; its private
copy, home, output and /tmp writable; a private /proc, a minimal /dev (plus the device files it
was given), its own PID, IPC, UTS and network namespaces; a seccomp filter; no capabilities.

When the grader runs as root, bubblewrap keeps only the capabilities to change user, and the run
starts as a dedicated uid through `setpriv` (so process limits bind, and it owns nothing of the
grader's). Otherwise bubblewrap maps the grader's uid into a user namespace of its own.
"""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from grader.run import seccomp
from grader.run.devices import CANN_VARIABLES
from grader.run.layout import GID, UID, USER, Layout
from grader.run.sandbox import namespace_members

BWRAP = "bwrap"  # found on PATH
INSTALL = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; install.sh does it)"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What Python, MindSpore, Jupyter and the device runtimes read from /etc; nothing else of it
ETC = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "hosts",
    "nsswitch.conf",
    "localtime",
    "timezone",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "mime.types",
    "os-release",
    "ascend_install.info",
    "ascend_filelist.info",
)
RUN_UIDS = range(6_100_000, 6_200_000)  # dedicated uids for runs when the grader is root
DEVICE_FILES = {
    "gpu": ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset"),
    "ascend": ("davinci_manager", "devmm_svm", "hisi_hdc"),
}


class Unavailable(Exception):
    """No sandbox can be built on this machine."""


@functools.lru_cache(maxsize=1)
def check() -> str:
    """bubblewrap's version once it has built a root here; raises Unavailable with the reason."""
    found = shutil.which(BWRAP)
    if not found:
        raise Unavailable(f"bubblewrap (bwrap) is not installed: {INSTALL}")
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        raise Unavailable("setpriv (util-linux) is not installed: the run cannot be started as a user of its own")
    user = [] if os.geteuid() == 0 else ["--unshare-user"]
    trial = [found, *user, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--die-with-parent", *_system_dirs(), "true"]
    done = subprocess.run(trial, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise Unavailable(f"bubblewrap cannot make namespaces here: {done.stderr.strip() or done.returncode}")
    try:
        seccomp.compile_filter()
    except seccomp.Unavailable as exc:
        raise Unavailable(str(exc)) from exc
    version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout.strip()
    return version or "bubblewrap"


def _system_dirs() -> list[str]:
    """The system's programs and libraries, read-only. Never the whole of `/`: binding it takes in
    every mount below it, and a tmpfs that another grading unmounts meanwhile fails the bind."""
    args = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def run_uid() -> int:
    """A uid no process of this machine runs as, for one run (the grader is root)."""
    busy = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                busy.add(entry.stat().st_uid)
            except OSError:
                pass
    while (uid := random.choice(RUN_UIDS)) in busy:
        pass
    return uid


def interpreter_dirs(python: str) -> tuple[str, list[str]]:
    """The interpreter's path as the run calls it (its venv folder resolved, so pyvenv.cfg is found)
    and the folders to show read-only: the venv's prefix, its base installation, and the folders
    its own search path names beyond them (site-packages added by a .pth file, a base's packages
    under --system-site-packages). A folder holding the grader's own package is never shown."""
    given = Path(python).absolute()
    called = Path(os.path.realpath(given.parent)) / given.name
    dirs = [str(called.parent.parent), str(Path(os.path.realpath(called)).parent.parent), *_search_path(str(called))]
    shown: list[str] = []
    for d in dict.fromkeys(dirs):
        if _within(d, (*SYSTEM_DIRS, *shown)) or (Path(d) / "grader" / "pipeline.py").exists():
            continue
        shown.append(d)
    return str(called), shown


@functools.lru_cache(maxsize=16)
def _search_path(python: str) -> tuple[str, ...]:
    """The existing folders on the interpreter's sys.path as it starts without PYTHONPATH (the
    instructor's interpreter, run once outside the sandbox); none if it cannot say."""
    try:
        done = subprocess.run(
            [python, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        paths = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else []
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return ()
    found = [p for p in paths if isinstance(p, str) and p and os.path.isdir(p)]
    return tuple(dict.fromkeys(q for p in found for q in (p, os.path.realpath(p))))  # as named (through links) and as stored


@dataclass
class Jail:
    layout: Layout
    readable: list[str]  # host folders shown read-only at their own paths (the interpreter)
    device_files: list[str] = field(default_factory=list)
    isolate_network: bool = True
    shm_bytes: int = 1024**3
    uid: int | None = None  # the dedicated host uid when the grader is root

    def prepare(self) -> None:
        """Write passwd and group for the run's user; give the run's writable folders to its uid."""
        uid, gid = (self.uid, self.uid) if self.uid is not None else (UID, GID)
        control = self.layout.host["control"]
        (control / "passwd").write_text(f"root:x:0:0:root:/root:/bin/sh\n{USER}:x:{uid}:{gid}::{self.layout.inside('home')}:/bin/sh\n")
        (control / "group").write_text(f"root:x:0:\nusers:x:{gid}:\n")
        if self.uid is not None:
            for name in ("home", "work", "output", "tmp", "notebook"):
                give(self.layout.host[name], self.uid)
                # bubblewrap enters the working folder before it drops to the run's uid, without
                # CAP_DAC_OVERRIDE: a copy of a 0700 folder would shut it out (only the run sees it)
                os.chmod(self.layout.host[name], 0o755)

    def argv(self, command: list[str], seccomp_fd: int, status_fd: int) -> list[str]:
        args = [BWRAP, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        args += ["--unshare-net"] if self.isolate_network else []
        args += ["--hostname", "notebook"]
        if self.uid is None:
            args += ["--unshare-user", "--uid", str(UID), "--gid", str(GID), "--cap-drop", "ALL"]
        else:
            args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        args += _system_dirs()
        for name in ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        control = self.layout.host["control"]
        args += ["--ro-bind", str(control / "passwd"), "/etc/passwd", "--ro-bind", str(control / "group"), "/etc/group"]
        args += _open_parents(inside for _, inside, _ in self.layout.binds())
        args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(self.shm_bytes), "--tmpfs", "/dev/shm"]
        for path in self.device_files:
            args += ["--dev-bind", path, f"/dev/{os.path.basename(path)}"]
        for host, inside, writable in self.layout.binds():
            args += ["--bind" if writable else "--ro-bind", host, inside]
        args += _open_parents(self.readable)  # after /tmp: an interpreter kept under /tmp stays visible
        for path in self.readable:
            args += ["--ro-bind", path, path]
        args += ["--remount-ro", "/", "--chdir", self.layout.inside("work"), "--setenv", "USER", USER, "--setenv", "LOGNAME", USER]
        args += ["--seccomp", str(seccomp_fd), "--json-status-fd", str(status_fd), "--"]
        if self.uid is not None:
            drop = ["--reuid", str(self.uid), "--regid", str(self.uid), "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
            args += [shutil.which("setpriv") or "/usr/bin/setpriv", *drop, "--"]
        return args + command

    def describe(self, version: str, refused: list[str]) -> dict:
        shown = [f"{inside} <- {host}" + ("" if writable else " (read-only)") for host, inside, writable in self.layout.binds()]
        user = f"host uid {self.uid}, no capabilities" if self.uid is not None else f"uid {UID} in a user namespace, no capabilities"
        return {
            "sandbox": f"{version}: an allow-listed root, own PID/IPC/UTS namespaces, no_new_privs",
            "network": "network namespace: loopback only" if self.isolate_network else "not isolated",
            "run_user": f"{USER} ({user})",
            "visible": [*SYSTEM_DIRS, "/etc (" + ", ".join(ETC[:3]) + ", ...)", *self.readable, *self.device_files, *shown],
            "seccomp_refused": refused,
        }


def _within(path: str, folders) -> bool:
    """Whether `path` is one of `folders` or lies below one."""
    return any(path == folder or path.startswith(folder + "/") for folder in folders)


def _open_parents(destinations) -> list[str]:
    """Make the folders above the mount points first, 0755: bubblewrap would make them 0700,
    closed to the run's uid."""
    folders = sorted({str(p) for d in destinations for p in Path(d).parents if str(p) != "/"})
    return [arg for folder in folders for arg in ("--perms", "0755", "--dir", folder)]


def give(folder: Path, uid: int) -> None:
    os.chown(folder, uid, uid)
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)


def runtime_dirs(kind: str) -> list[str]:
    """For a GPU or NPU run: the folders its runtime is loaded from when they lie outside the
    system folders (CANN installed under a home, /usr/local/Ascend linking elsewhere), named by
    CANN's variables, LD_LIBRARY_PATH and PYTHONPATH as the grader was started; read-only."""
    if kind == "cpu":
        return []
    named = [os.environ.get(v, "") for v in CANN_VARIABLES] + ["/usr/local/Ascend", "/usr/local/cuda"]
    for variable in ("LD_LIBRARY_PATH", "PYTHONPATH"):
        named += os.environ.get(variable, "").split(os.pathsep)
    found = []
    for path in filter(None, named):
        real = os.path.realpath(path)
        if os.path.isdir(real) and not _within(real, SYSTEM_DIRS):
            found.append(real)
    return [p for p in dict.fromkeys(found) if not any(p.startswith(q + "/") for q in found)]


def device_files(kind: str, ids: tuple[int, ...], root: str = "/dev") -> list[str]:
    """The device files of the devices a run was given, and their control nodes."""
    if kind == "cpu":
        return []
    stem = "nvidia" if kind == "gpu" else "davinci"
    names = [f"{stem}{i}" for i in ids] + list(DEVICE_FILES[kind])
    return [f"{root}/{name}" for name in names if os.path.exists(f"{root}/{name}")]


class Status:
    """bubblewrap's status stream (--json-status-fd): the namespace's init, its PID namespace,
    and the exit status of the run's main process once it has ended. Right after reporting that,
    bubblewrap exits and the namespace's init dies with it (--die-with-parent), which kills
    whatever the run left behind."""

    def __init__(self, read_fd: int):
        self.child_pid: int | None = None
        self.pid_namespace: int | None = None
        self.exit_code: int | None = None
        self.left_at_exit: set[int] = set()  # processes of the run still there when its main process ended
        self._stream = os.fdopen(read_fd, "r")

    def read(self, on_exit) -> None:
        """Read until bubblewrap closes the stream (run in a thread); call on_exit at the main
        process's end."""
        for line in self._stream:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if "child-pid" in event:
                self.child_pid, self.pid_namespace = event["child-pid"], event.get("pid-namespace")
            if "exit-code" in event:
                self.exit_code = event["exit-code"]
                if self.pid_namespace:  # bubblewrap ends them at once now: see them first
                    self.left_at_exit = namespace_members(self.pid_namespace) - {self.child_pid}
                on_exit()
        self._stream.close()
