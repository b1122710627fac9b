"""Keras Tuner's trials become the shared TrialRecord rows; the oracle is stood in for (no tuner runs here)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from engines.backends.keras_tuner_search import ALGORITHMS, HISTORY_FILE, early_stopping_patience, tuner_records
from search_spaces.cnn_lstm import SPACE


@pytest.fixture
def keras_tuner_project(tmp_path):
    def trial(trial_id, status, values, *, score=None, message=None, history=None):
        folder = tmp_path / f"trial_{trial_id}"
        folder.mkdir()
        if history is not None:
            (folder / HISTORY_FILE).write_text(json.dumps(history))
        return SimpleNamespace(hyperparameters=SimpleNamespace(values=values), status=status, score=score,
                               message=message)

    trials = {
        "0": trial("0", "COMPLETED", {"learning_rate": 0.001, "use_lstm": True, "lstm_units": 64}, score=0.6,
                   history={"val_accuracy_history": [0.4, 0.6], "epochs": [1, 2], "hostname": "h", "wall_time_s": 3.0}),
        "1": trial("1", "COMPLETED", {"learning_rate": 0.002, "use_lstm": False, "lstm_units": 64}, score=0.3,
                   history={"val_accuracy_history": [0.3], "epochs": [1]}),
        "2": trial("2", "FAILED", {"learning_rate": 0.003}, message="Traceback\nNonFiniteLossError: loss became inf",
                   history={"val_accuracy_history": [0.1], "epochs": [1]}),
        "3": trial("3", "RUNNING", {"learning_rate": 0.004}),
    }
    return SimpleNamespace(oracle=SimpleNamespace(trials=trials), project_dir=str(tmp_path),
                           get_trial_dir=lambda trial_id: str(tmp_path / f"trial_{trial_id}"))


def test_keras_tuner_trials_become_records_from_the_oracle_and_the_saved_history(keras_tuner_project):
    records = {r.trial_id: r for r in tuner_records(keras_tuner_project, SPACE, max_epochs=2)}
    assert [records[t].status for t in "0123"] == ["complete", "stopped_early", "diverged", "running"]
    assert records["0"].best_val_accuracy == 0.6 and records["0"].params["lstm_units"] == 64
    assert "lstm_units" not in records["1"].params
    assert (records["0"].hostname, records["0"].wall_time_s) == ("h", 3.0)
    assert records["2"].failure_reason == "NonFiniteLossError: loss became inf"


def test_a_trial_waits_at_least_three_epochs_for_a_better_val_loss():
    assert [early_stopping_patience(g) for g in (1, 3, 5)] == [3, 3, 5]
    assert ALGORITHMS == ("bayesian", "hyperband", "random")  # the guide's three --tuning-algorithm values
