"""The optuna translator (search_spaces/translate_optuna.py); every translator together: test_translators.py."""

from __future__ import annotations

import pytest

from search_spaces import SPACE, suggest_optuna

N = 20


def test_optuna_records_no_lstm_parameters_for_a_trial_without_an_lstm():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(lambda trial: float(bool(suggest_optuna(trial, SPACE)["use_lstm"])), n_trials=N)
    for trial in study.trials:
        assert ("lstm_units" in trial.params) == trial.params["use_lstm"]
        assert ("cnn_filters_2" in trial.params) == (trial.params["n_conv_blocks"] == 3)
