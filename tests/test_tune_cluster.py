"""The one CLI in-process: tune is the default subcommand, bad input exits 2 in one line, every path is made
absolute at start and the command runs from a folder it owns (issue 19, item 1)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

import tune_cluster
from tune_cluster import build_parser, main
from engines.experiment.settings import load_settings


def test_every_path_setting_and_flag_becomes_absolute_from_the_start_folder_and_uris_stay(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"data": "data/x.npz", "space": "space.yaml", "output_dir": "out",
                              "storage": "runs", "optuna_storage": "sqlite:///tuning/optuna.db"})
    args = argparse.Namespace(command="train", hparams="out/best_hyperparameters.json", config_file=None, epochs=3)
    settings, args = tune_cluster._with_absolute_paths(settings, args)
    assert settings.data == str(tmp_path / "data" / "x.npz") and settings.space == str(tmp_path / "space.yaml")
    assert settings.output_dir == str(tmp_path / "out") and settings.storage == str(tmp_path / "runs")
    assert settings.optuna_storage == f"sqlite:///{tmp_path}/tuning/optuna.db"
    assert args.hparams == str(tmp_path / "out" / "best_hyperparameters.json") and args.epochs == 3
    for uri in ("s3://bucket/runs?endpoint_override=127.0.0.1:9000", "sqlite:////abs/optuna.db", "postgresql://h/db"):
        assert tune_cluster._absolute(uri, str(tmp_path)) == uri


def test_the_command_runs_from_a_fresh_folder_of_its_own_and_returns_to_the_start_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", ["", "relative/lib", *sys.path])
    with tune_cluster._driver_folder() as folder:
        assert os.getcwd() == folder and Path(folder).is_dir() and not os.listdir(folder)
        assert Path(folder) != tmp_path and tmp_path not in Path(folder).parents
        assert sys.path[:2] == [os.path.join(str(tmp_path), ""), str(tmp_path / "relative" / "lib")]
        assert all(os.path.isabs(entry) for entry in sys.path)  # imports never depend on the current folder
    assert os.getcwd() == str(tmp_path) and not Path(folder).exists()


def test_the_command_survives_its_start_folder_being_removed_while_it_runs(tmp_path, monkeypatch):
    start = tmp_path / "job_copy"  # a Ray job's working directory, removed by a runtime-env agent
    start.mkdir()
    monkeypatch.chdir(start)
    with tune_cluster._driver_folder() as folder:
        start.rmdir()
        start.mkdir()  # Ray unpacks it again at the same path: a new folder
        assert os.getcwd() == folder and os.path.relpath("/x/y", start="/x") == "y"  # what Ray Tune's fit() ran into
    with pytest.raises(FileNotFoundError):
        os.getcwd()  # back in the removed folder it started in, as before the command
    monkeypatch.chdir(tmp_path)


def test_a_start_folder_that_no_longer_exists_is_one_line(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    code = tune_cluster.main(["--use-dummy-data", "--max-trials", "1"])
    monkeypatch.chdir(tmp_path)
    assert code == 2


def test_tune_is_the_default_subcommand():
    args = build_parser().parse_args(tune_cluster._with_default_command(["--use-dummy-data", "--max-trials", "5"]))
    assert args.command == "tune" and args.max_trials == 5 and args.use_dummy_data


@pytest.mark.parametrize("command", tune_cluster.COMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0 and "usage: tune_cluster.py" in capsys.readouterr().out


def _option_help(command: str, option: str, capsys) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps at the terminal's width
    return text[text.index(f"{option} "):][:160]  # the usage line has "[--seed SEED]": the option's own entry


@pytest.mark.parametrize("command", ["train", "verify"])
def test_a_subcommands_help_says_what_seed_and_smoke_test_do_there_not_what_they_do_for_tune(command, capsys):
    seed, smoke = _option_help(command, "--seed SEED", capsys), _option_help(command, "--smoke-test", capsys)
    assert "searcher" not in seed and "trials" not in smoke.split("--config")[0]
    assert ("final model" in seed) if command == "train" else ("--seed+1" in seed)
    assert "searcher" in _option_help("tune", "--seed SEED", capsys)


def test_a_bad_value_exits_2_with_one_line_and_no_traceback(tmp_path, capsys):
    assert main(["--use-dummy-data", "--max-epochs", "0", "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --max-epochs must be a whole number >= 1") and err.count("\n") == 1
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("args, line", [
    (["--cv", "1"], "error: --cv must be a whole number >= 2 (folds of the tuning data), got 1\n"),
    # The smoke data: 3 subjects, one held out for test, so 2 in the tuning data.
    (["--cv", "3", "--split", "subject"], "error: --cv 3: more folds than the 2 subjects in the tuning data\n"),
    (["--cv", "26", "--split", "trial"], "error: --cv 26: more folds than the 25 recordings in the tuning data\n"),
    (["--cv", "6", "--split", "trial"],
     "error: --cv 6: more folds than the 5 recordings of class 'happy' (the rarest) in the tuning data\n"),
])
def test_an_impossible_cv_exits_2_with_one_line_naming_the_value_and_the_count_and_writes_nothing(
        tmp_path, capsys, args, line):
    out = tmp_path / "out"
    assert main(["--use-dummy-data", "--smoke-test", *args, "--output-dir", str(out)]) == 2
    assert capsys.readouterr().err == line
    assert not out.exists()


def test_a_dashboard_of_an_experiment_without_a_study_exits_2_naming_the_experiment(tmp_path, capsys):
    experiment = tmp_path / "models" / "tuning" / "quick"
    experiment.mkdir(parents=True)
    (experiment / "config.json").write_text("{}")
    assert main(["dashboard", "--output-dir", str(tmp_path / "models"), "--port", "8099"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {experiment}: no Optuna study 'emotion_recognition_optuna:quick'")
    assert len(err.splitlines()) == 1 and not (experiment.parent / "optuna.db").exists()
