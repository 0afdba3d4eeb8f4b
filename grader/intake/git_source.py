"""A submission that is a git repository: which addresses are taken, how the commit to grade is
fetched and chosen, and how its files reach a folder of the grader's own.

Addresses: https, http, ssh (`ssh://` or `user@host:path`) and git URLs are cloned; a local
repository (a folder with `.git`, or a bare repository) is read through a grader-made copy
(git_copy.py), never by git over the student's own `.git`. Refused, with the reason: remote
helpers (`ext::`, `fd::`, any `transport::address`, which run programs), `file://` URLs (a
student's row in a roster could name any repository on this machine; give a path instead) and
every other scheme. A refused address, a clone that fails and a path that is not there raise
Unreachable (the grader never got the submission); what the repository itself holds that
cannot be taken raises Unsafe (the submission's own problem). The commit's files are exported with `git archive` into a folder through
Python's tar extraction with its `data` filter: no link leaves the folder, no device files.
Submodules, hooks and `.gitattributes` filters never run.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from grader.errors import Unreachable
from grader.intake import git_copy
from grader.intake.git_copy import Unsafe

CLONE_TIMEOUT = 600.0
MAX_TREE_BYTES = 2 * 1024**3  # what the commit graded may unpack to
MAX_TREE_ENTRIES = 20_000
HELPER = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.-]*::")  # git's `transport::address`: runs git-remote-<transport>
SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
SCP_LIKE = re.compile(r"[\w.+-]+@[\w.-]+:")  # user@host:path, git's short ssh form
CLONED_SCHEMES = {"https", "http", "ssh", "git", "git+ssh", "ssh+git"}


@dataclass
class Fetched:
    """The commit chosen and where its files are."""

    tree: Path
    commit: str
    committed: str  # committer date, ISO 8601: set by whoever made the commit
    summary: str
    fetched: str | None  # when the grader cloned the URL (UTC, ISO 8601); None for a local repository


def looks_like_address(given: str) -> bool:
    """Anything git would take as a remote rather than a path: a URL, `user@host:path`, or a
    remote helper's `transport::address`."""
    return bool(HELPER.match(given) or SCHEME.match(given) or SCP_LIKE.match(given))


def refusal(given: str) -> str | None:
    """Why this address is not fetched; None when it is cloned."""
    if HELPER.match(given):
        transport = given.split("::", 1)[0]
        return f"{transport}:: addresses run a program on the grader's machine (a git remote helper); hand in an https or ssh URL"
    scheme = SCHEME.match(given)
    if scheme and scheme.group(1).lower() == "file":
        return "file:// URLs are not fetched (they can name any repository on the grader's machine); give the repository's path instead"
    if scheme and scheme.group(1).lower() not in CLONED_SCHEMES:
        return f"{scheme.group(1)}:// URLs are not fetched; hand in an https or ssh URL"
    if given.startswith("-"):
        return "an address starting with '-' is not fetched"
    return None


def fetch(given: str, dest: Path, ref: str | None, deadline: datetime | None) -> Fetched:
    """Clone (URL) or copy (local repository) into `dest`, choose the commit and export its files.
    Unreachable when the address is refused, the clone fails or the path is not there; Unsafe
    with the reason when the repository or the commit cannot be taken."""
    repository = dest / "repository.git"
    fetched = None
    if looks_like_address(given):
        why = refusal(given)
        if why:
            raise Unreachable(f"the address {given} is refused: {why}")
        _clone(given, repository)
        fetched = datetime.now(UTC).isoformat(timespec="seconds")
    else:
        if not Path(given).expanduser().exists():
            raise Unreachable(f"submission {given} does not exist")
        git_copy.sanitised_copy(git_copy.git_dir_of(Path(given).expanduser()), repository)
    sha = choose_commit(repository, ref, deadline)
    committed, summary = commit_details(repository, sha)
    tree = dest / "clone"
    export(repository, sha, tree)
    return Fetched(tree, sha, committed, summary, fetched)


def _clone(url: str, repository: Path) -> None:
    """A bare clone: no checkout, no submodules, no hooks; only the allowed transports."""
    try:
        done = git_copy.run_git(None, "clone", "--bare", "--quiet", "--template=", "--", url, str(repository), timeout=CLONE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Unreachable(f"cloning {url} took more than {CLONE_TIMEOUT:g} s") from None
    if done.returncode != 0:
        raise Unreachable(f"could not clone {url}: {git_copy.last_words(done.stderr)}")


def choose_commit(repository: Path, ref: str | None, deadline: datetime | None) -> str:
    base = ref or "HEAD"
    if base.startswith("-"):
        raise Unsafe(f"{base!r} is not a branch, tag or commit")
    for candidate in (base, f"origin/{base}"):
        done = git_copy.run_git(repository, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{candidate}^{{commit}}")
        if done.returncode == 0:
            sha = done.stdout.decode().strip()
            break
    else:
        named = f"branch, tag or commit {ref!r}" if ref else "commit on its default branch"
        raise Unsafe(f"the repository has no {named} (or that commit is not among its own objects)")
    if deadline is None:
        return sha
    before = git_copy.output(repository, "rev-list", "-1", f"--before={deadline.isoformat()}", sha, "--").strip()
    if not before:
        dates = git_copy.output(repository, "log", "--format=%cI", sha, "--").split()
        first = min(datetime.fromisoformat(d) for d in dates)
        raise Unsafe(
            f"no commit on {ref or 'the default branch'} before the deadline {deadline.isoformat()} (the first is from {first.isoformat()})"
        )
    return before


def commit_details(repository: Path, sha: str) -> tuple[str, str]:
    """The committer date and the summary line of a commit."""
    text = git_copy.output(repository, "show", "--no-patch", "--no-notes", "--format=%cI%n%s", sha, "--")
    committed, _, summary = text.partition("\n")
    return datetime.fromisoformat(committed.strip()).isoformat(), summary.strip()


def export(repository: Path, sha: str, folder: Path) -> None:
    """The commit's files into `folder`, sizes checked before anything is written."""
    listing = git_copy.output(repository, "ls-tree", "-r", "-z", "--long", "--full-tree", sha).split("\0")
    entries = [line for line in listing if line]
    sizes = [int(line.split("\t", 1)[0].split()[3]) for line in entries if line.split()[1] == "blob"]
    if len(entries) > MAX_TREE_ENTRIES or sum(sizes) > MAX_TREE_BYTES:
        raise Unsafe(f"commit {sha[:7]} holds more than {MAX_TREE_ENTRIES:,} files or {MAX_TREE_BYTES // 1024**3} GiB")
    folder.mkdir(parents=True)
    with git_copy.streamed(repository, "archive", "--format=tar", sha) as archive:
        try:
            with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
                for member in tar:
                    tar.extract(member, folder, filter="data")
        except tarfile.FilterError as exc:
            raise Unsafe(f"commit {sha[:7]} holds {exc}; commit the file itself") from None
        except tarfile.TarError as exc:
            raise Unsafe(f"the files of commit {sha[:7]} could not be read ({exc})") from None
        if archive.wait() != 0:
            raise Unsafe(f"the files of commit {sha[:7]} could not be read (git archive failed)")
