"""A submission's time comes from its own git repository only (real repositories in tmp dirs)."""

import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from grader.intake import submitted
from tests.helpers import GIT_ENV


def git(repo, *args, when="2026-12-01T10:00:00+08:00"):
    subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        env=GIT_ENV | {"GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when},
    )


def commit(repo, files: dict[str, str], when: str) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", *files, when=when)
    git(repo, "commit", "-qm", "work", when=when)


@pytest.fixture
def course_repo(tmp_path):
    """An enclosing repository (a course checkout) with a late, unrelated commit."""
    repo = tmp_path / "course"
    repo.mkdir()
    git(repo, "init", "-q")
    commit(repo, {"README.md": "course\n"}, "2026-12-09T18:00:00+00:00")
    return repo


def test_a_folder_inside_another_repository_does_not_take_its_dates(course_repo):
    folder = course_repo / "students" / "ada"
    commit(course_repo, {"students/ada/train.py": "print('hi')\n"}, "2026-12-10T08:00:00+00:00")
    when, source = submitted.determine(folder, None)
    assert when is None and "not the root of its own git repository" in source
    script = folder / "train.py"
    assert submitted.determine(script, None)[0] is None  # a script's folder is not its own repository either


def test_the_submissions_own_repository_gives_its_last_commit(course_repo):
    folder = course_repo / "students" / "bob"
    folder.mkdir(parents=True)
    git(folder, "init", "-q")  # bob's own repository, nested in the course checkout
    commit(folder, {"train.py": "print('v1')\n"}, "2026-12-02T09:30:00+08:00")
    commit(folder, {"notes.txt": "later\n"}, "2026-12-03T09:30:00+08:00")
    commit(course_repo, {"README.md": "course, changed later\n"}, "2026-12-20T00:00:00+00:00")
    when, source = submitted.determine(folder, None)
    assert datetime.fromisoformat(when) == datetime(2026, 12, 3, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    assert source.startswith("committer date of commit ") and "set by the student's machine" in source
    # a single file of that repository: the last commit touching the file
    when, _ = submitted.determine(folder / "train.py", None)
    assert datetime.fromisoformat(when) == datetime(2026, 12, 2, 9, 30, tzinfo=timezone(timedelta(hours=8)))


def test_a_broken_git_folder_does_not_fall_through_to_the_enclosing_repository(course_repo):
    folder = course_repo / "students" / "eve"
    commit(course_repo, {"students/eve/train.py": "print('x')\n"}, "2026-12-10T08:00:00+00:00")
    (folder / ".git").mkdir()  # not a repository: git must not look further up
    when, source = submitted.determine(folder, None)
    assert when is None and source.startswith("unknown")


def test_explicit_time_wins_and_must_carry_a_time_zone(course_repo):
    assert submitted.determine(course_repo, "2026-12-03T00:00:00Z") == ("2026-12-03T00:00:00+00:00", submitted.GIVEN)
    assert submitted.determine(course_repo / "nowhere.py", None)[0] is None
    with pytest.raises(Exception, match="time zone"):
        submitted.parse("2026-12-03 10:00")
