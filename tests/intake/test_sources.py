"""Every kind of submission source, graded through the `grade` command: script, folder, zip,
git at a deadline; and the refusals (zip entries and links leading out of the folder)."""

import os
import stat
import zipfile
from datetime import UTC, datetime

import git
import pytest

from grader.checks.judgement import FAILED
from tests import helpers

# A script that needs no training: it proves where it ran from and what it saw, quickly.
MARKER_SCRIPT = "import os\nprint('running version', {version!r}, 'in', os.getcwd())\n"


def grade(source, tmp_path, *extra):
    done = helpers.grade(source, tmp_path / "out", *extra)
    return done.code, done.statuses, done.messages, done.evidence, done.stdout


def test_single_script_is_run_from_a_private_copy(tmp_path):
    script = tmp_path / "sub" / "homework.py"
    script.parent.mkdir()
    script.write_text(MARKER_SCRIPT.format(version="script") + "open('scratch.txt', 'w').write('x')\n")
    code, statuses, messages, evidence, stdout = grade(script, tmp_path)
    assert evidence["source"]["kind"] == "script" and evidence["entry"] == "homework.py"
    assert "running version script" in stdout and str(script.parent) not in stdout
    assert sorted(os.listdir(script.parent)) == ["homework.py"]  # the original folder is untouched
    assert code == 1 and statuses["adapter_type"] == FAILED and "no adapter saved" in messages["adapter_type"]


def _zip(path, members, links=()):
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def test_zip_of_a_folder_is_unpacked_and_its_single_top_folder_unwrapped(tmp_path):
    archive = _zip(
        tmp_path / "hw.zip",
        {"hw/train.py": MARKER_SCRIPT.format(version="zipped"), "hw/data/notes.txt": "n", "__MACOSX/._train.py": ""},
        links=[("hw/notes-link", "data/notes.txt")],
    )
    code, _, _, evidence, stdout = grade(archive, tmp_path)
    assert evidence["source"]["kind"] == "zip" and evidence["entry"] == "train.py"
    assert "running version zipped" in stdout


@pytest.mark.parametrize(
    "members, links, why",
    [
        ({"train.py": "print(1)", "../escape.py": "print(2)"}, (), "'../escape.py', which points outside"),
        ({"train.py": "print(1)"}, [("passwd", "/etc/passwd")], "link 'passwd' -> '/etc/passwd' leading out"),
        ({"train.py": "print(1)"}, [("up", "../../secret")], "link 'up' -> '../../secret' leading out"),
        ({"train.py": "print(1)", "data/x.txt": "x"}, [("data", "sub")], "'data/x.txt' inside an entry that is a link"),
    ],
)
def test_zip_with_entries_or_links_leading_out_is_refused(tmp_path, members, links, why):
    archive = _zip(tmp_path / "bad.zip", members, links)
    code, statuses, messages, evidence, _ = grade(archive, tmp_path)
    assert code == 1 and evidence["run"] is None
    assert statuses["run"] == FAILED and messages["run"].startswith("submission refused:") and why in messages["run"]
    assert not (tmp_path / "escape.py").exists() and not (tmp_path.parent / "escape.py").exists()


@pytest.mark.parametrize("damage", ["crc", "deflate"])
def test_a_damaged_zip_is_refused_with_a_message(tmp_path, damage):
    body = "print('the homework')\n" * 200
    archive = tmp_path / "hw.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train.py", body)
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.infolist()[0]
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)  # the entry's compressed data
    if damage == "crc":
        data[14:18] = b"\0\0\0\0"  # the local header's CRC-32; the central directory keeps its own
        central = data.rfind(b"PK\x01\x02")
        data[central + 16 : central + 20] = b"\0\0\0\0"
    else:
        data[start : start + 8] = b"\xff" * 8
    archive.write_bytes(bytes(data))
    code, statuses, messages, evidence, _ = grade(archive, tmp_path)
    assert code == 1 and evidence["run"] is None
    assert messages["run"].startswith("submission refused: hw.zip is damaged at 'train.py'") and "make the zip again" in messages["run"]


def test_folder_with_a_link_out_is_refused(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "train.py").write_text("print(1)\n")
    (folder / "labels.jsonl").symlink_to("/work/shared/data/mrpc/test.jsonl")
    code, statuses, messages, _, _ = grade(folder, tmp_path)
    assert code == 1 and statuses["run"] == FAILED
    assert "labels.jsonl is a link to /work/shared/data/mrpc/test.jsonl, outside the submission" in messages["run"]


def _commit(repo, version, when):
    with open(os.path.join(repo.working_tree_dir, "train.py"), "w") as handle:
        handle.write(MARKER_SCRIPT.format(version=version))
    repo.index.add(["train.py"])
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S%z")
    return repo.index.commit(f"version {version}", author_date=stamp, commit_date=stamp).hexsha


def test_git_repository_is_graded_at_the_last_commit_before_the_deadline(tmp_path):
    repo = git.Repo.init(tmp_path / "student-repo")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Student").set_value("user", "email", "s@example.org")
    utc = UTC
    _commit(repo, "early", datetime(2025, 5, 1, 10, 0, tzinfo=utc))
    on_time = _commit(repo, "on time", datetime(2025, 5, 1, 23, 0, tzinfo=utc))
    head = _commit(repo, "late", datetime(2025, 5, 2, 9, 0, tzinfo=utc))
    assert repo.head.commit.hexsha == head
    code, _, _, evidence, stdout = grade(tmp_path / "student-repo", tmp_path, "--before", "2025-05-02T07:59:00+08:00")
    assert evidence["source"]["kind"] == "git" and evidence["source"]["commit"] == on_time
    assert "running version on time" in stdout
    assert repo.head.commit.hexsha == head and not repo.is_dirty()  # the original repository is untouched


def test_git_without_a_commit_before_the_deadline_says_when_the_first_was(tmp_path):
    repo = git.Repo.init(tmp_path / "student-repo")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Student").set_value("user", "email", "s@example.org")
    _commit(repo, "late", datetime(2025, 5, 2, 9, 0, tzinfo=UTC))
    code, statuses, messages, _, _ = grade(str(tmp_path / "student-repo"), tmp_path, "--before", "2025-05-01T00:00:00+00:00")
    assert code == 1 and statuses["run"] == FAILED
    assert "no commit on the default branch before the deadline 2025-05-01T00:00:00+00:00" in messages["run"]
    assert "2025-05-02T09:00:00+00:00" in messages["run"]
