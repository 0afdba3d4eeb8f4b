"""A student's git data never runs anything on the host, never lends another repository's
commits, and the time a grade uses says where it came from. Every repository here is a real one
made with the `git` binary in a temp dir; each attack is first shown to work on plain git (so a
test cannot pass because the attack was broken), then graded through the real `grade` command."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from datetime import UTC, datetime

import pytest

from grader import cli
from grader.checks.judgement import FAILED
from grader.intake import git_source, submitted
from tests import helpers
from tests.commands.batch_helpers import run_batch, students, submission, write_roster
from tests.helpers import GIT_ENV, SUBMISSIONS

HOSTILE = SUBMISSIONS / "hostile"
EARLY = "2025-12-01T10:00:00+08:00"  # a backdated commit: long before any deadline in these tests


def git(repo, *args, when=EARLY, stdin=None) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=GIT_ENV | {"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when},
        check=False,
    )
    assert done.returncode == 0 or args[0] in ("log", "status", "diff", "checkout"), done.stderr
    return done.stdout.strip()


def new_repo(path, train_py: str, when=EARLY):
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "train.py").write_text(train_py)
    git(path, "add", "train.py")
    git(path, "commit", "-qm", "work", when=when)
    return path


# ----- the repository's own config must not run anything -------------------------------------

MARKS = ("ran-gpg.sh", "ran-fsmonitor.sh", "ran-diff.sh", "ran-post-checkout")


def signed_commit(repo, message: str) -> str:
    """A commit carrying a (forged) PGP signature: showing it makes git call gpg.program."""
    tree, parent = git(repo, "write-tree"), git(repo, "rev-parse", "HEAD")
    body = (
        f"tree {tree}\nparent {parent}\nauthor s <s@example.org> 1764554400 +0800\ncommitter s <s@example.org> 1764554400 +0800\n"
        "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEEforged\n -----END PGP SIGNATURE-----\n\n"
        f"{message}\n"
    )
    sha = git(repo, "hash-object", "-t", "commit", "-w", "--stdin", stdin=body)
    git(repo, "update-ref", "refs/heads/main", sha)
    return sha


@pytest.fixture
def config_runs_code(tmp_path):
    """The homework in a repository whose config names programs: gpg.program (through
    include.path) with log.showSignature, core.fsmonitor, diff.external and a hook."""
    repo = new_repo(tmp_path / "student", (HOSTILE / "git-config-runs-code" / "train.py").read_text())
    tools = repo / "tools"
    (tools / "hooks").mkdir(parents=True)
    script = HOSTILE / "git-config-runs-code" / "leave-a-mark.sh"
    for name in ("gpg.sh", "fsmonitor.sh", "diff.sh", "hooks/post-checkout"):
        shutil.copy2(script, tools / name)
    (tools / "included.cfg").write_text(f"[gpg]\n\tprogram = {tools / 'gpg.sh'}\n")
    (repo / "notes.txt").write_text("signed\n")
    git(repo, "add", "notes.txt", "tools")
    sha = signed_commit(repo, "signed work")
    with (repo / ".git" / "config").open("a") as config:
        config.write(
            f"[log]\n\tshowSignature = true\n[core]\n\tfsmonitor = {tools / 'fsmonitor.sh'}\n\thooksPath = {tools / 'hooks'}\n"
            f"\tpager = {tools / 'gpg.sh'}\n[diff]\n\texternal = {tools / 'diff.sh'}\n[include]\n\tpath = {tools / 'included.cfg'}\n"
        )
    # the attack is live: plain git over this repository runs every one of them
    git(repo, "log", "-1")
    git(repo, "status")
    git(repo, "diff", "HEAD~1", "HEAD")
    git(repo, "checkout", "-q", "-b", "other")
    assert sorted(p.name for p in tools.rglob("ran-*")) == sorted(MARKS)
    for mark in tools.rglob("ran-*"):
        mark.unlink()
    return repo, sha


def test_dating_a_folder_never_runs_its_git_config(config_runs_code, tmp_path):
    repo, sha = config_runs_code
    done = helpers.grade(repo, tmp_path / "out")
    assert done.code == 1 and "the student's own work" in done.stdout
    assert sorted(p.name for p in (repo / "tools").rglob("ran-*")) == []
    late = json.loads((tmp_path / "out" / "scored.json").read_text())["late"]
    assert datetime.fromisoformat(late["submitted_at"]) == datetime.fromisoformat(EARLY)
    assert late["source"] == f"committer date of commit {sha[:7]}, set by the student's machine (can be backdated)"


def test_grading_a_ref_of_a_local_repository_never_runs_its_git_config(config_runs_code, tmp_path):
    repo, sha = config_runs_code
    done = helpers.grade(repo, tmp_path / "out", "--ref", "main")
    assert done.code == 1 and "the student's own work" in done.stdout
    assert done.evidence["source"]["commit"] == sha and done.evidence["source"]["commit_summary"] == "signed work"
    assert sorted(p.name for p in (repo / "tools").rglob("ran-*")) == []


# ----- only the student's own objects and refs count ------------------------------------------


@pytest.fixture
def classmates(tmp_path):
    neighbour = new_repo(tmp_path / "neighbour", 'print("the neighbour\'s work")\n', when="2026-01-05T10:00:00+00:00")
    student = new_repo(tmp_path / "student", (HOSTILE / "git-borrowed-history" / "train.py").read_text())
    return student, neighbour


def borrow(student, neighbour, how: str) -> None:
    """Make the student's repository name the neighbour's newest commit as its own `main`."""
    theirs = git(neighbour, "rev-parse", "main")
    if how in ("alternates+linked-ref", "alternates+ref-text"):
        (student / ".git" / "objects" / "info" / "alternates").write_text(f"{neighbour / '.git' / 'objects'}\n")
        ref = student / ".git" / "refs" / "heads" / "main"
        ref.unlink()
        if how == "alternates+linked-ref":
            ref.symlink_to(neighbour / ".git" / "refs" / "heads" / "main")
        else:
            ref.write_text(theirs + "\n")
    elif how == "gitfile":
        shutil.rmtree(student / ".git")
        (student / ".git").write_text(f"gitdir: {neighbour / '.git'}\n")
    elif how == "linked-dot-git":
        shutil.rmtree(student / ".git")
        (student / ".git").symlink_to(neighbour / ".git")
    assert git(student, "rev-parse", "main") == theirs  # plain git now takes the neighbour's commit as the student's


BORROWINGS = ["alternates+linked-ref", "alternates+ref-text", "gitfile", "linked-dot-git"]
WHY = {
    "alternates+linked-ref": "refs/heads/main in its git repository is a link",
    "alternates+ref-text": "no branch, tag or commit 'main'",
    "gitfile": "is a link or a file pointing to a repository elsewhere",
    "linked-dot-git": "is a link or a file pointing to a repository elsewhere",
}


@pytest.mark.parametrize("how", BORROWINGS)
def test_a_ref_borrowed_from_a_classmate_is_refused_never_graded(classmates, tmp_path, how):
    student, neighbour = classmates
    borrow(student, neighbour, how)
    done = helpers.grade(student, tmp_path / "out", "--ref", "main")
    assert done.code == 1 and done.evidence["run"] is None and "neighbour" not in json.dumps(done.evidence)
    assert done.statuses["run"] == FAILED and done.messages["run"].startswith("submission refused:")
    assert WHY[how] in done.messages["run"]


@pytest.mark.parametrize("how", BORROWINGS)
def test_a_borrowed_history_never_dates_the_submission(classmates, how):
    student, neighbour = classmates
    borrow(student, neighbour, how)
    when, source = submitted.determine(student, None)
    assert (
        when is None
        and source.startswith("unknown (its git repository was not read")
        or (how == "alternates+ref-text" and when is None and "no commit" in source)
    ), source


def test_the_students_own_commit_is_graded_when_alternates_only_add_objects(classmates, tmp_path):
    student, neighbour = classmates
    (student / ".git" / "objects" / "info" / "alternates").write_text(f"{neighbour / '.git' / 'objects'}\n")
    own = git(student, "rev-parse", "main")
    done = helpers.grade(student, tmp_path / "out", "--ref", "main")
    assert done.evidence["source"]["commit"] == own and "the student's own work" in done.stdout and "neighbour" not in done.stdout


# ----- addresses that are refused -------------------------------------------------------------


@pytest.mark.parametrize(
    "address, why",
    [
        ("ext::sh -c touch% /tmp/x", "ext:: addresses run a program"),
        ("fd::17", "fd:: addresses run a program"),
        ("file:///srv/private.git", "file:// URLs are not fetched"),
        ("ftp://example.org/x.git", "ftp:// URLs are not fetched"),
        ("-oProxy@host:x", "starting with '-'"),
    ],
)
def test_addresses_that_would_run_a_program_or_read_this_machine_are_refused(address, why):
    assert git_source.looks_like_address(address) and why in (git_source.refusal(address) or "")


@pytest.mark.parametrize("address", ["https://example.org/a/b.git", "git@example.org:a/b.git", "ssh://example.org/a", "git://h/x"])
def test_the_allowed_transports_are_taken(address):
    assert git_source.looks_like_address(address) and git_source.refusal(address) is None


@pytest.mark.parametrize("extra", [(), ("--ref", "main")], ids=["default-branch", "ref"])
def test_an_ext_address_is_a_refused_submission_and_runs_nothing(tmp_path, extra):
    marker = tmp_path / "pwned"
    out = tmp_path / "out"
    code = cli.main([f"ext::sh -c touch% {marker}", "--profile", "tiny", "--out", str(out), *extra])
    assert code == 2 and not marker.exists() and not (out / "scored.json").exists()  # never fetched: could not grade


def test_a_roster_row_cannot_name_a_host_repository_or_a_remote_helper(tmp_path):
    private = new_repo(tmp_path / "instructor-private", "print('PRIVATE SOLUTION')\n")
    marker = tmp_path / "pwned"
    roster = write_roster(
        tmp_path / "roster.csv",
        [
            ("Ada", str(submission(tmp_path / "subs", "ada"))),
            ("Mallory", f"file://{private}"),
            ("Eve", f"ext::sh -c touch% {marker}"),
        ],
    )
    out = tmp_path / "class"
    done = run_batch(roster, out, "--jobs", "1")
    assert done.returncode == 1, done.stdout + done.stderr  # graded, someone failed; never 3
    assert not marker.exists()
    book = students(out)
    assert book["Ada"]["state"] == "graded" and book["Mallory"]["state"] == "could not grade" and book["Eve"]["state"] == "could not grade"
    assert "is refused: file:// URLs are not fetched" in book["Mallory"]["problem"]
    assert "is refused: ext:: addresses run a program" in (out / "Eve" / "error.txt").read_text()
    assert "PRIVATE SOLUTION" not in "".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())


# ----- which time a grade uses ----------------------------------------------------------------


@pytest.fixture
def served(tmp_path):
    """The student's repository, backdated, served over plain HTTP (git's dumb protocol)."""
    work = new_repo(tmp_path / "work", "print('served work')\n")
    bare = tmp_path / "site" / "student.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True, env=GIT_ENV)
    subprocess.run(["git", "-C", str(bare), "update-server-info"], check=True, env=GIT_ENV)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/student.git"
    server.shutdown()
    server.server_close()


def late_rubric(tmp_path) -> str:
    path = tmp_path / "late.yaml"
    path.write_text(
        "name: late\ncriteria:\n  - {check: run, points: 1}\n"
        "late_policy: {deadline: '2026-01-01T00:00:00+00:00', penalty_per_day_percent: 10, cap_percent: 50}\n"
    )
    return str(path)


def test_fetch_time_is_offered_where_the_commit_date_is_the_students_word(served, tmp_path):
    by_commit = helpers.grade(served, tmp_path / "commit", "--rubric", late_rubric(tmp_path))
    late = json.loads((tmp_path / "commit" / "scored.json").read_text())["late"]
    assert "served work" in by_commit.stdout and by_commit.evidence["source"]["fetched"]
    assert late["days_late"] == 0 and "set by the student's machine (can be backdated)" in late["message"]  # the backdating works
    started = datetime.now(UTC).replace(microsecond=0)
    helpers.grade(served, tmp_path / "fetch", "--rubric", late_rubric(tmp_path), "--submitted-from", "fetch")
    ended = datetime.now(UTC)
    late = json.loads((tmp_path / "fetch" / "scored.json").read_text())["late"]
    assert started <= datetime.fromisoformat(late["submitted_at"]) <= ended
    assert late["source"] == f"fetch time of {served} by the grader (the commit was on the server by then)"
    assert late["days_late"] > 0 and late["penalty_percent"] == 50 and "fetch time of" in late["message"]


def test_fetch_time_of_a_local_folder_is_unknown_with_the_reason(tmp_path):
    folder = new_repo(tmp_path / "student", "print('local')\n")
    when, source = submitted.determine(folder, None, {"kind": "folder"}, submitted.FETCH)
    assert when is None and "was not fetched from a URL" in source
    assert submitted.determine(folder, None)[1].startswith("committer date of commit")
    assert submitted.determine(folder, "2026-01-02T00:00:00Z", None, submitted.FETCH) == ("2026-01-02T00:00:00+00:00", submitted.GIVEN)


def test_a_committed_link_out_of_the_repository_refuses_the_commit(tmp_path):
    student = new_repo(tmp_path / "student", "print('x')\n")
    (student / "labels.jsonl").symlink_to("/etc/passwd")
    git(student, "add", "labels.jsonl")
    git(student, "commit", "-qm", "a link out")
    done = helpers.grade(student, tmp_path / "out", "--ref", "main")
    assert done.code == 1 and done.evidence["run"] is None
    assert done.messages["run"].startswith("submission refused: commit ") and "labels.jsonl" in done.messages["run"]


def test_a_fifo_among_the_refs_is_refused_without_waiting_on_it(tmp_path):
    student = new_repo(tmp_path / "student", "print('x')\n")
    os.mkfifo(student / ".git" / "refs" / "heads" / "stuck")
    when, source = submitted.determine(student, None)
    assert when is None and "refs/heads/stuck in its git repository is not a regular file" in source
