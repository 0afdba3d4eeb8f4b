"""Git run on the grader's own terms, and a grader-made copy of a student's local repository.

Git obeys a repository's config (`gpg.program`, `core.fsmonitor`, `core.pager`, `diff.external`,
`include.path`, hooks), follows `objects/info/alternates` into other repositories and reads refs
that are symbolic links to anywhere. So the grader never runs git over a student's `.git`. It
makes a fresh bare repository of its own and copies into it, as plain bytes, only what names
the student's commits: loose objects, packs, refs, `packed-refs`, `HEAD` and `shallow`, each a
regular file whose name and content have the expected form. Git then runs on that copy only,
in an environment that reads no system or user config and with every setting that can run a
program or show a signature turned off.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_REPOSITORY_BYTES = 1024**3  # what is copied from a student's .git
MAX_REPOSITORY_FILES = 50_000
GIT_TIMEOUT = 120.0  # seconds for one git command on a local copy
ALLOWED_PROTOCOLS = ("https", "http", "ssh", "git")

# Settings that keep git from running anything or reading anything beyond the repository given.
SAFE_SETTINGS = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.pager=cat",
    "core.attributesFile=/dev/null",
    "core.askPass=/bin/false",
    "credential.helper=",
    "log.showSignature=false",
    "gpg.program=/bin/false",
    "diff.external=",
    "submodule.recurse=false",
    "protocol.allow=never",
    *(f"protocol.{name}.allow=always" for name in ALLOWED_PROTOCOLS),
    "transfer.fsckObjects=true",
    "tar.umask=0022",
)

HEX = re.compile(r"[0-9a-f]{40}")
LOOSE_FOLDER = re.compile(r"[0-9a-f]{2}")
LOOSE_OBJECT = re.compile(r"[0-9a-f]{38}")
PACK_FILE = re.compile(r"pack-[0-9a-f]{40}\.(pack|idx)")
SYMBOLIC = re.compile(r"ref: (refs/\S+)")
# One component of a ref name, by git's check-ref-format rules (no control characters, no
# space ~ ^ : ? * [ \, not starting with a dot, not ending with .lock, no `..` or `@{`).
REF_COMPONENT = re.compile(r"(?!\.)(?!.*\.\.)(?!.*@\{)(?!.*\.lock$)[^\x00-\x20\x7f~^:?*\[\\]+")


class Unsafe(Exception):
    """The repository cannot be read as handed in; the message says why, for the student."""


def clean_environment(home: Path) -> dict[str, str]:
    """No variable of the grader's own that git reads (GIT_DIR, GIT_CONFIG_*, GIT_SSH_COMMAND, ...),
    no system or user config, an empty home, no prompt, no replace refs, only the allowed
    transports."""
    kept = {k: os.environ[k] for k in ("PATH", "TMPDIR") if k in os.environ}
    return kept | {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_ALLOW_PROTOCOL": ":".join(ALLOWED_PROTOCOLS),
        "GIT_OPTIONAL_LOCKS": "0",
    }


def git_command(repository: Path | None, *args: str) -> list[str]:
    command = ["git", "--no-replace-objects", *(part for s in SAFE_SETTINGS for part in ("-c", s))]
    return [*command, f"--git-dir={repository}", *args] if repository is not None else [*command, *args]


def run_git(repository: Path | None, *args: str, timeout: float = GIT_TIMEOUT) -> subprocess.CompletedProcess:
    """Run git on a repository the grader made or cloned (never a student's own folder)."""
    with tempfile.TemporaryDirectory(prefix="grader-git-home-") as home:
        return subprocess.run(
            git_command(repository, *args),
            capture_output=True,
            stdin=subprocess.DEVNULL,
            env=clean_environment(Path(home)),
            cwd=home,
            timeout=timeout,
            check=False,
        )


@contextmanager
def streamed(repository: Path, *args: str) -> Iterator[subprocess.Popen]:
    """A git command whose output the caller reads as it comes (stdout); it is ended on leaving."""
    with tempfile.TemporaryDirectory(prefix="grader-git-home-") as home, tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            git_command(repository, *args),
            stdout=subprocess.PIPE,
            stderr=errors,
            stdin=subprocess.DEVNULL,
            env=clean_environment(Path(home)),
            cwd=home,
        )
        try:
            yield process
        finally:
            process.kill()
            process.wait()
            process.stdout.close()


def output(repository: Path, *args: str) -> str:
    """What a git command printed; Unsafe with git's own words when it fails."""
    try:
        done = run_git(repository, *args)
    except subprocess.TimeoutExpired:
        raise Unsafe(f"git {args[0]} took more than {GIT_TIMEOUT:g} s on the repository") from None
    if done.returncode != 0:
        raise Unsafe(last_words(done.stderr))
    return done.stdout.decode("utf-8", "replace")


def last_words(stderr: bytes, limit: int = 600) -> str:
    """git's message, short and on one line."""
    text = " ".join(stderr.decode("utf-8", "replace").split())
    return text[-limit:] or "git failed without a message"


def git_dir_of(folder: Path) -> Path:
    """The student's git folder: `folder/.git` when it is a real folder, or `folder` itself when it
    is a bare repository. A `.git` that is a file or a link (a worktree, a submodule, a pointer
    to another repository) is refused: it names a repository elsewhere on this machine."""
    folder = Path(folder)
    dot_git = folder / ".git"
    if os.path.lexists(dot_git):
        if dot_git.is_symlink() or not dot_git.is_dir():
            raise Unsafe(
                f"{dot_git.name} in {folder.name} is a link or a file pointing to a repository elsewhere "
                "(a worktree or submodule); hand in a plain clone"
            )
        return dot_git
    if (folder / "HEAD").is_file() and (folder / "objects").is_dir():
        return folder
    raise Unsafe(f"{folder.name} is not a git repository")


def sanitised_copy(student_git: Path, dest: Path) -> Path:
    """A bare repository at `dest`, made by the grader, holding only the student's own objects
    and refs from `student_git`. Unsafe when something in it is a link, not a regular file,
    malformed, or too large."""
    student_git = Path(student_git)
    _plain_folder(student_git, ".git")
    init = run_git(None, "init", "--bare", "--quiet", "--template=", str(dest))
    if init.returncode != 0:
        raise OSError(f"git init of the grader's copy failed: {last_words(init.stderr)}")
    budget = _Budget()
    _copy_objects(student_git / "objects", dest / "objects", budget)
    _copy_refs(student_git, dest, budget)
    head = _read(student_git / "HEAD", "HEAD", budget).decode("ascii", "replace").strip()
    if not (HEX.fullmatch(head) or ((m := SYMBOLIC.fullmatch(head)) and _valid_ref(m.group(1)))):
        raise Unsafe(f"HEAD holds {head[:80]!r}, neither a commit nor a branch")
    (dest / "HEAD").write_text(head + "\n")
    if os.path.lexists(student_git / "shallow"):  # a shallow clone: the commits whose parents it lacks
        lines = _read(student_git / "shallow", "shallow", budget).decode("ascii", "replace").split()
        if not all(HEX.fullmatch(line) for line in lines):
            raise Unsafe("its `shallow` file holds something other than commit ids")
        (dest / "shallow").write_text("".join(f"{line}\n" for line in lines))
    return dest


class _Budget:
    """How much has been copied; Unsafe past the limits."""

    def __init__(self):
        self.bytes = 0
        self.files = 0

    def take(self, size: int) -> None:
        self.bytes += size
        self.files += 1
        if self.bytes > MAX_REPOSITORY_BYTES or self.files > MAX_REPOSITORY_FILES:
            raise Unsafe(
                f"its git repository holds more than {MAX_REPOSITORY_FILES:,} files or {MAX_REPOSITORY_BYTES // 1024**2} MiB "
                "of objects; hand in the folder without its history, or a smaller repository"
            )


def _plain_folder(path: Path, shown: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise Unsafe(f"its git repository has no {shown}") from None
    if not stat.S_ISDIR(mode):
        raise Unsafe(f"{shown} in its git repository is {'a link' if stat.S_ISLNK(mode) else 'not a folder'}; hand in a plain clone")


def _read(path: Path, shown: str, budget: _Budget) -> bytes:
    """A regular file's bytes, opened without following a link or blocking on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise Unsafe(f"its git repository has no {shown}") from None
    except OSError as exc:  # ELOOP: a link
        raise Unsafe(f"{shown} in its git repository is a link or cannot be read ({exc.strerror}); hand in a plain clone") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unsafe(f"{shown} in its git repository is not a regular file")
        budget.take(info.st_size)
        data = handle.read(info.st_size + 1)
        if len(data) != info.st_size:
            raise Unsafe(f"{shown} in its git repository changed while it was read")
        return data


def _copy_objects(source: Path, dest: Path, budget: _Budget) -> None:
    """Loose objects and packs only: no info/alternates, http-alternates, commit-graph or grafts."""
    _plain_folder(source, "objects")
    with os.scandir(source) as entries:
        for entry in entries:
            if LOOSE_FOLDER.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                with os.scandir(entry.path) as objects:
                    for item in objects:
                        if LOOSE_OBJECT.fullmatch(item.name):
                            shown = f"objects/{entry.name}/{item.name}"
                            (dest / entry.name).mkdir(exist_ok=True)
                            (dest / entry.name / item.name).write_bytes(_read(Path(item.path), shown, budget))
    if os.path.lexists(source / "pack"):
        _plain_folder(source / "pack", "objects/pack")
        with os.scandir(source / "pack") as entries:
            for entry in entries:
                if PACK_FILE.fullmatch(entry.name):
                    (dest / "pack" / entry.name).write_bytes(_read(Path(entry.path), f"objects/pack/{entry.name}", budget))


def _valid_ref(name: str) -> bool:
    parts = name.split("/")
    return len(parts) >= 2 and parts[0] == "refs" and all(REF_COMPONENT.fullmatch(p) for p in parts[1:])


def _valid_target(text: str) -> bool:
    symbolic = SYMBOLIC.fullmatch(text)
    return bool(HEX.fullmatch(text) or (symbolic and _valid_ref(symbolic.group(1))))


def _copy_refs(student_git: Path, dest: Path, budget: _Budget) -> None:
    """Each ref a regular file with a valid name holding a commit id or `ref: refs/...`;
    packed-refs line by line. A link anywhere under refs/ refuses the repository."""
    if os.path.lexists(student_git / "refs"):
        _plain_folder(student_git / "refs", "refs")
        for dirpath, dirnames, filenames in os.walk(student_git / "refs"):
            for name in dirnames:
                _plain_folder(Path(dirpath) / name, str((Path(dirpath) / name).relative_to(student_git)))
            for name in filenames:
                ref = (Path(dirpath) / name).relative_to(student_git).as_posix()
                text = _read(Path(dirpath) / name, ref, budget).decode("ascii", "replace").strip()
                if not _valid_ref(ref) or not _valid_target(text):
                    raise Unsafe(f"{ref} in its git repository is not a valid ref ({text[:80]!r})")
                (dest / ref).parent.mkdir(parents=True, exist_ok=True)
                (dest / ref).write_text(text + "\n")
    if os.path.lexists(student_git / "packed-refs"):
        kept = []
        for line in _read(student_git / "packed-refs", "packed-refs", budget).decode("ascii", "replace").splitlines():
            sha, _, name = line.partition(" ")
            header_or_peeled = line.startswith("#") or (line.startswith("^") and HEX.fullmatch(line[1:]))
            if header_or_peeled or (HEX.fullmatch(sha) and _valid_ref(name)):
                kept.append(line)
            elif line.strip():
                raise Unsafe(f"packed-refs in its git repository holds a malformed line {line[:80]!r}")
        (dest / "packed-refs").write_text("".join(f"{line}\n" for line in kept))
