"""Bad input: one line on stderr naming the rule and the value, exit code 2, nothing written or overwritten."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tune_cluster

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--max-trials", "0"], "--max-trials must be a whole number >= 1, got 0"),
        (["--scheduler", "sometimes"], "--scheduler must be one of"),
        (["--searcher", "genetic"], "--searcher must be one of"),
        (["--time-budget", "overnight"], "--time-budget: a duration looks like"),
        (["--memory-per-trial", "lots"], "--memory-per-trial: memory looks like"),
        (["--grace-period", "9", "--max-epochs", "3"], "grace_period=9, max_epochs=3"),
        (["--resume"], "--resume needs --name"),
        (["--cpus-per-trial", "0"], "--cpus-per-trial must be > 0"),
        (["--max-failures", "-1"], "--max-failures must be a whole number >= 0, got -1"),
        (["--cpus-per-trial", "nan"], "--cpus-per-trial must be > 0 (a finite number), got nan"),
        (["--gpus-per-trial", "inf"], "--gpus-per-trial must be >= 0 (a finite number), got inf"),
        (["--memory-per-trial", "nan"], "--memory-per-trial: memory looks like"),
        (["--pending-timeout", "soon"], "--pending-timeout: a duration looks like"),
        (["--pending-timeout", "0"], "--pending-timeout: a duration must be positive"),
        (["--optuna-storage", "sqlite:///x.db"], "--optuna-storage is for --method optuna"),
        (["--method", "optuna", "--optuna-storage", "nonsense://nowhere"], "--optuna-storage: cannot open Optuna storage"),
        (["--method", "optuna", "--scheduler", "bohb"], "--scheduler picks Optuna's pruner"),
        (["--method", "keras-tuner", "--name", "a/b"], "--name must be a plain folder name"),
        (["--storage", "sss://bucket/x"], "--storage must be a path or a URI Ray can write to"),
    ],
)
def test_a_bad_tune_flag_exits_2_with_one_line_and_creates_nothing(tmp_path, capsys, flags, expected):
    output = tmp_path / "out"
    code = tune_cluster.main(["--use-dummy-data", "--output-dir", str(output), *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert expected in err and len(err.splitlines()) == 1
    assert not output.exists()


@pytest.mark.slow
def test_a_trial_no_node_can_hold_exits_2_instead_of_pending_for_ever(tmp_path):
    # In a process of its own once, as a user runs it: Ray's start-up lines may come first, ours is one line.
    output = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(ROOT / "tune_cluster.py"), "--use-dummy-data", "--smoke-test", "--output-dir", str(output),
         "--gpus-per-trial", "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, result.stderr
    assert len(errors) == 1 and "--gpus-per-trial 1: no node of the cluster can run a trial" in errors[0]
    assert "largest node:" in errors[0] and "Traceback" not in result.stderr
    assert not output.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--memory-per-trial", "10T"], "--memory-per-trial 10T: no node of the cluster can run a trial"),
        (["--cpus-per-trial", "64"], "--cpus-per-trial 64: no node of the cluster can run a trial"),
    ],
)
def test_a_trial_too_big_for_every_node_is_refused_on_the_running_ray_too(local_ray, tmp_path, capsys, flags,
                                                                         expected):
    # The same check on a Ray this process already runs (no process boundary under test: in-process).
    output = tmp_path / "out"
    code = tune_cluster.main(["--use-dummy-data", "--smoke-test", "--output-dir", str(output), *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and expected in err and "largest node:" in err, err
    assert not output.exists()


def test_a_storage_bucket_that_does_not_exist_exits_2_before_anything_runs(tmp_path, capsys, s3_server):
    # A refused endpoint takes the same path (tests/engines/test_storage.py), after the SDK's retries (~6 s).
    storage = s3_server.uri("no-such-bucket", "eeg-tuning")
    code = tune_cluster.main(["--use-dummy-data", "--output-dir", str(tmp_path / "out"), "--storage", storage])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert f"--storage: bucket 'no-such-bucket' must exist (create it first), got {storage!r}" in err
    assert not (tmp_path / "out").exists()


def test_no_data_given_names_the_flags_to_use(tmp_path, capsys):
    assert tune_cluster.main(["--output-dir", str(tmp_path / "out")]) == 2
    assert "--use-dummy-data" in capsys.readouterr().err


def test_a_missing_data_file_is_named_and_an_earlier_result_survives(tmp_path, capsys):
    output = tmp_path / "out"
    output.mkdir()
    best = output / "best_hyperparameters.json"
    best.write_text('{"hyperparameters": {}, "metadata": {}}')
    code = tune_cluster.main(["--data", str(tmp_path / "nope.npz"), "--output-dir", str(output), "--name", "x"])
    assert code == 2
    assert "nope.npz" in capsys.readouterr().err
    assert best.read_text() == '{"hyperparameters": {}, "metadata": {}}'
    assert not (output / "tuning").exists()


def test_a_space_file_with_low_above_high_is_refused_before_any_trial(tmp_path, capsys):
    space = tmp_path / "my_space.yaml"
    space.write_text("learning_rate:\n  low: 0.1\n  high: 0.001\n")
    code = tune_cluster.main(["--use-dummy-data", "--space", str(space), "--output-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "my_space.yaml" in err and "low < high" in err
    assert not (tmp_path / "out").exists()


def test_a_config_file_with_an_unknown_setting_names_it(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text("max_trials: 4\nmax_trails: 5\n")
    code = tune_cluster.main(["--use-dummy-data", "--config", str(config), "--output-dir", str(tmp_path / "out")])
    assert code == 2 and "'max_trails'" in capsys.readouterr().err


def test_an_unreadable_hparams_file_for_train_exits_2(tmp_path, capsys):
    hparams = tmp_path / "best.json"
    hparams.write_text("{not json")
    code = tune_cluster.main(["train", "--hparams", str(hparams), "--use-dummy-data", "--output-dir", str(tmp_path / "o")])
    assert code == 2 and "best.json" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_an_unknown_hyperparameter_is_named(tmp_path, capsys):
    hparams = tmp_path / "best.json"
    hparams.write_text('{"hyperparameters": {"lstm_unitz": 3}, "metadata": {}}')
    code = tune_cluster.main(["train", "--hparams", str(hparams), "--use-dummy-data", "--output-dir", str(tmp_path / "o")])
    assert code == 2 and "lstm_unitz" in capsys.readouterr().err


def test_through_the_real_entry_point_bad_input_prints_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "tune_cluster.py"), "--data", str(tmp_path / "missing"), "--dataset", "deap",
         "--output-dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "missing" in result.stderr


def test_an_unknown_subcommand_flag_is_one_line_and_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "tune_cluster.py"), "--max-trails", "5"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("cpus_per_trial: two", "cpus_per_trial must be int or float, got 'two'"),
        ("checkpoint: 'false'", "checkpoint must be true/false, got 'false'"),
        ("max_trials: 5.5", "max_trials must be int, got 5.5"),
        ("name: 123", "name must be str, got 123"),
    ],
)
def test_a_config_file_value_of_the_wrong_type_is_refused_before_anything_runs(tmp_path, capsys, line, expected):
    config = tmp_path / "run.yaml"
    config.write_text(line + "\n")
    code = tune_cluster.main(["--use-dummy-data", "--config", str(config), "--output-dir", str(tmp_path / "out")])
    assert code == 2 and expected in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_negative_patience_for_train_is_refused(tmp_path, capsys):
    code = tune_cluster.main(["train", "--use-dummy-data", "--patience", "-3", "--output-dir", str(tmp_path / "o")])
    assert code == 2 and "--patience must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_verify_refuses_a_split_other_than_the_one_tuning_held_out(tmp_path, capsys):
    hparams = tmp_path / "best.json"
    hparams.write_text('{"hyperparameters": {}, "metadata": {"split": "subject", "split_seed": 0}}')
    code = tune_cluster.main(
        ["verify", "--hparams", str(hparams), "--use-dummy-data", "--smoke-test", "--output-dir", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "split='subject'" in err and "--split subject" in err
    assert not (tmp_path / "o").exists()
