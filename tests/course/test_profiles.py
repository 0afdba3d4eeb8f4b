import pytest

from grader.course import model_files, profiles
from grader.errors import CannotGrade


def test_shipped_profiles_load():
    assert {"tiny", "roberta-large"} <= set(profiles.available())
    large = profiles.load("roberta-large")
    assert large.source == "local" and large.max_length == 128 and large.reference_metrics["accuracy"] > 0.8
    assert large.config_file.is_file()


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(CannotGrade, match="available: .*roberta-large"):
        profiles.load("bert-huge")


def test_local_profile_without_model_says_which_variable(monkeypatch, tmp_path):
    large = profiles.load("roberta-large")
    monkeypatch.delenv(large.dir_env, raising=False)
    with pytest.raises(CannotGrade, match=large.dir_env):
        model_files.ensure(large, None)
    with pytest.raises(CannotGrade, match="no config.json"):
        model_files.ensure(profiles.load("roberta-large", model_dir=tmp_path), None)
