"""``tune --method optuna|keras-tuner`` through the real CLI: the seed's two methods, no Ray.

Every run is a smoke test (tiny synthetic data, 2 epochs) with output under ``tmp_path``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pandas as pd
import pytest

import tune_cluster
from engines.experiment.layout import STUDY_NAME

pytestmark = pytest.mark.slow

ALGORITHMS = ("bayesian", "hyperband", "random")


def tune(output_dir: Path, *flags: str) -> int:
    return tune_cluster.main(["tune", "--use-dummy-data", "--smoke-test", "--verbose", "0",
                              "--output-dir", str(output_dir), *flags])


def experiment_dir(output_dir: Path) -> Path:
    folders = [p for p in (output_dir / "tuning").iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def load_study(output_dir: Path, name: str = STUDY_NAME) -> optuna.Study:
    # The guide's 8.4, with the storage under this test's output folder.
    return optuna.load_study(study_name=name, storage=f"sqlite:///{output_dir / 'tuning' / 'optuna.db'}")


def assert_guide_outputs(output_dir: Path, *, method: str, searcher: str, trials: int) -> dict:
    document = json.loads((output_dir / "best_hyperparameters.json").read_text())
    assert set(document) == {"hyperparameters", "metadata"}
    meta = document["metadata"]
    assert 0.0 <= meta["best_score"] <= 1.0
    assert meta["metric"] == "val_accuracy"
    assert (meta["method"], meta["searcher"], meta["trials"]) == (method, searcher, trials)
    for key in ("timestamp", "val_majority_baseline", "scheduler", "data", "split", "split_seed"):
        assert key in meta, key
    assert {"learning_rate", "batch_size", "optimizer"} <= set(document["hyperparameters"])
    folder = experiment_dir(output_dir)
    table = pd.read_parquet(folder / "trials.parquet")
    assert len(table) == trials
    assert math.isclose(table["best_val_accuracy"].max(), meta["best_score"], abs_tol=1e-4)
    assert len(load_study(output_dir).trials) == trials
    assert json.loads((folder / "summary.json").read_text())["finished"] is True
    return document


@pytest.fixture(scope="module")
def optuna_run(tmp_path_factory) -> Path:
    output_dir = tmp_path_factory.mktemp("optuna")
    assert tune(output_dir, "--method", "optuna", "--max-trials", "2", "--name", "first") == 0
    return output_dir


def test_native_optuna_writes_the_guides_json_a_trials_table_and_a_study_the_guide_can_load(optuna_run):
    document = assert_guide_outputs(optuna_run, method="optuna", searcher="tpe", trials=2)
    assert document["metadata"]["scheduler"] == "successive_halving"  # --scheduler asha, Optuna's equivalent
    native = load_study(optuna_run, f"{STUDY_NAME}:first")
    assert len(native.trials) == 2
    assert all(len(t.intermediate_values) >= 1 and "wall_time_s" in t.user_attrs for t in native.trials)


def test_native_optuna_refuses_to_add_other_settings_to_an_existing_experiment_and_overwrites_nothing(
    optuna_run, capsys
):
    best = optuna_run / "best_hyperparameters.json"
    before = best.read_text()
    assert tune(optuna_run, "--method", "optuna", "--max-trials", "2", "--name", "first", "--split", "subject") == 2
    error = capsys.readouterr().err.strip()
    assert "was run with --split 'trial', got 'subject'" in error and "\n" not in error
    assert best.read_text() == before
    assert len(load_study(optuna_run, f"{STUDY_NAME}:first").trials) == 2


def test_native_optuna_resume_continues_the_same_study_to_max_trials_without_rerunning_finished_trials(
    tmp_path, capsys
):
    assert tune(tmp_path, "--method", "optuna", "--max-trials", "1", "--name", "again") == 0
    first = load_study(tmp_path, f"{STUDY_NAME}:again").trials[0]
    assert tune(tmp_path, "--method", "optuna", "--max-trials", "2", "--name", "again", "--resume") == 0
    trials = load_study(tmp_path, f"{STUDY_NAME}:again").trials
    assert len(trials) == 2
    assert (trials[0].datetime_start, trials[0].params) == (first.datetime_start, first.params)
    assert len(pd.read_parquet(tmp_path / "tuning" / "again" / "trials.parquet")) == 2
    assert len(load_study(tmp_path).trials) == 2
    capsys.readouterr()
    assert tune(tmp_path, "--method", "optuna", "--max-trials", "2", "--name", "again", "--resume") == 0
    assert "nothing to resume" in capsys.readouterr().out
    assert len(load_study(tmp_path, f"{STUDY_NAME}:again").trials) == 2


def test_a_trial_whose_loss_becomes_nan_ends_as_diverged_with_its_reason_and_the_optuna_study_goes_on(tmp_path, monkeypatch):
    import keras

    import eeg.training

    real = eeg.training.train_model
    calls = []

    class LossBecomesNan(keras.callbacks.Callback):
        """Ahead of the objective's own callback: the epoch's loss it reads is NaN (Keras shares one logs dict)."""

        def on_epoch_end(self, epoch, logs=None):
            logs["loss"] = float("nan")

    def first_trial_diverges(*args, **kwargs):
        calls.append(kwargs.get("initial_epoch", 0))
        if len(calls) == 1:  # the objective trains a trial in one fit: the first call is the first trial
            kwargs["callbacks"] = [LossBecomesNan(), *kwargs.get("callbacks", ())]
        return real(*args, **kwargs)

    monkeypatch.setattr(eeg.training, "train_model", first_trial_diverges)
    assert tune(tmp_path, "--method", "optuna", "--max-trials", "2", "--scheduler", "fifo", "--name", "nan") == 0
    table = pd.read_parquet(tmp_path / "tuning" / "nan" / "trials.parquet").set_index("trial_id")
    assert table.loc["0", "status"] == "diverged"  # deterministic: counted apart from failures, never recommended
    assert "loss became nan" in table.loc["0", "failure_reason"]
    assert table.loc["1", "status"] == "complete"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_keras_tuner_writes_the_guides_json_a_trials_table_and_a_study_the_guide_can_load(tmp_path, algorithm):
    assert tune(tmp_path, "--method", "keras-tuner", "--tuning-algorithm", algorithm, "--max-trials", "2") == 0
    assert_guide_outputs(tmp_path, method="keras-tuner", searcher=algorithm, trials=2)
    folder = experiment_dir(tmp_path)
    assert (folder / "keras_tuner" / "emotion_recognition" / "oracle.json").is_file()
    assert len(load_study(tmp_path, f"{STUDY_NAME}:{folder.name}").trials) == 2


def test_keras_tuner_continues_when_the_same_command_is_run_again_as_the_guide_says(tmp_path):
    assert tune(tmp_path, "--method", "keras-tuner", "--tuning-algorithm", "random", "--max-trials", "1") == 0
    folder = experiment_dir(tmp_path)
    first = (folder / "keras_tuner" / "emotion_recognition" / "trial_0" / "trial.json").read_text()
    assert tune(tmp_path, "--method", "keras-tuner", "--tuning-algorithm", "random", "--max-trials", "2") == 0
    assert experiment_dir(tmp_path) == folder  # the same command found the same experiment
    assert (folder / "keras_tuner" / "emotion_recognition" / "trial_0" / "trial.json").read_text() == first
    assert len(pd.read_parquet(folder / "trials.parquet")) == 2


def test_a_keras_tuner_trial_whose_loss_becomes_nan_ends_as_diverged_and_the_search_goes_on(tmp_path, monkeypatch):
    import engines.backends.keras_tuner_search as engine

    real = engine.check_finite
    calls = []

    def first_epoch_diverges(last, epoch, hparams):
        calls.append(epoch)
        real({**last, "loss": float("nan")} if len(calls) == 1 else last, epoch, hparams)

    monkeypatch.setattr(engine, "check_finite", first_epoch_diverges)
    assert tune(tmp_path, "--method", "keras-tuner", "--tuning-algorithm", "random", "--max-trials", "2") == 0
    table = pd.read_parquet(experiment_dir(tmp_path) / "trials.parquet").set_index("trial_id")
    assert table.loc["0", "status"] == "diverged"  # deterministic: counted apart from failures, never recommended
    assert "loss became nan" in table.loc["0", "failure_reason"]
    assert table.loc["1", "status"] == "complete"


@pytest.mark.parametrize("method", ("optuna", "keras-tuner"))
def test_a_bad_space_file_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, method):
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {low: 0.1, high: 0.001}\n")
    output_dir = tmp_path / "models"
    assert tune(output_dir, "--method", method, "--max-trials", "2", "--space", str(space)) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and "learning_rate" in error and "\n" not in error
    assert not output_dir.exists()
