"""Where an experiment's files live, what it is called, and its Optuna study's one location."""

from __future__ import annotations

import pytest

from eeg.errors import InputError
from engines.experiment.layout import (
    STUDY_NAME,
    experiment_paths,
    fingerprinted_name,
    join_uri,
    locked,
    read_saved_config,
    read_summary,
    study_location,
)
from engines.experiment.settings import load_settings


def settings(tmp_path, **flags):
    return load_settings({"output_dir": str(tmp_path / "models"), "use_dummy_data": True, **flags}, None)


def test_an_experiments_files_sit_under_the_output_dirs_tuning_folder(tmp_path):
    paths = experiment_paths(settings(tmp_path, name="e1"))
    assert paths.local == tmp_path / "models" / "tuning" / "e1"
    assert paths.config_file.name == "config.json" and paths.summary_file.name == "summary.json"
    assert paths.ray == str((tmp_path / "models" / "tuning").resolve()) + "/e1"  # no --storage: the same folder


def test_the_study_is_in_optuna_db_beside_the_experiments_unless_optuna_storage_names_a_server(tmp_path):
    paths = experiment_paths(settings(tmp_path, name="e1"))
    assert paths.optuna_url == f"sqlite:///{(tmp_path / 'models' / 'tuning' / 'optuna.db').resolve()}"
    assert paths.study_name == f"{STUDY_NAME}:e1"
    assert paths.study_url("postgresql://db/optuna") == "postgresql://db/optuna"
    assert study_location(paths.tuning, "e1", None) == (paths.optuna_url, paths.study_name)


def test_a_uri_keeps_its_query_at_the_end_when_parts_are_joined():
    assert join_uri("s3://bucket/prefix/?endpoint_override=h:9000", "e1", "x.json") == \
        "s3://bucket/prefix/e1/x.json?endpoint_override=h:9000"


def test_the_same_command_finds_the_same_fingerprinted_name_and_other_data_another(tmp_path):
    one, two = fingerprinted_name(settings(tmp_path), "optuna"), fingerprinted_name(settings(tmp_path), "optuna")
    other = fingerprinted_name(settings(tmp_path, split="subject"), "optuna")
    assert one == two != other and one.startswith("cnn_lstm_optuna_")


def test_an_unreadable_saved_config_is_refused_and_a_missing_summary_is_none(tmp_path):
    paths = experiment_paths(settings(tmp_path, name="e1"))
    assert read_saved_config(paths) is None and read_summary(paths) is None
    paths.local.mkdir(parents=True)
    paths.config_file.write_text("{half")
    with pytest.raises(InputError, match="unreadable experiment config"):
        read_saved_config(paths)


def test_the_lock_is_taken_in_the_tuning_folder_and_can_be_taken_again(tmp_path):
    paths = experiment_paths(settings(tmp_path, name="e1"))
    with locked(paths):
        assert paths.lock_file.is_file()
    with locked(paths):
        pass
