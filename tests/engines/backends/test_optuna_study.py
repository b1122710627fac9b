"""The native Optuna backend: the objective trains in one ``fit`` over every epoch, each epoch reported, the pruner
and a NaN stop it; the study's trials become the shared TrialRecord rows (a real in-memory study, ``create_trial``)."""

from __future__ import annotations

import math
import types

import numpy as np
import optuna
import pytest

import eeg.training
import search_spaces.translate_optuna
from optuna.distributions import FloatDistribution

from eeg.training import NonFiniteLossError, PreparedData
from engines.backends.optuna_study import _INTERRUPTED, _Objective, _pruning_callback, build_pruner, count_finished, study_records

TINY = {"n_conv_blocks": 1, "cnn_filters_0": 8, "lstm_units": 8, "dense_units_0": 16, "dense_dropout_0": 0.0,
        "batch_size": 16, "learning_rate": 1e-2}


@pytest.fixture(scope="module")
def data() -> PreparedData:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4, 4)).astype(np.float32), np.arange(60) % 3
    return PreparedData(X[:40], y[:40], X[40:], y[40:], None, None, n_classes=3, class_names=("a", "b", "c"))


@pytest.fixture
def fits(monkeypatch):
    """Every call the objective makes to train_model; the sampled config is the tiny one."""
    calls, train_model = [], eeg.training.train_model

    def counted(*args, **kwargs):
        calls.append(kwargs)
        return train_model(*args, **kwargs)

    monkeypatch.setattr(eeg.training, "train_model", counted)
    monkeypatch.setattr(search_spaces.translate_optuna, "suggest_optuna", lambda trial, space: dict(TINY))
    return calls


class PruneAfter(optuna.pruners.BasePruner):
    def __init__(self, step: int) -> None:
        self.step = step

    def prune(self, study, trial) -> bool:
        return trial.last_step is not None and trial.last_step >= self.step


def run_one(data, pruner, max_epochs: int) -> optuna.trial.FrozenTrial:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.optimize(_Objective(None, data, max_epochs=max_epochs, seed=0, worker=0), n_trials=1)
    return study.trials[0]


def test_a_trial_trains_in_one_fit_and_reports_every_epoch(data, fits):
    trial = run_one(data, optuna.pruners.NopPruner(), max_epochs=3)
    assert len(fits) == 1 and fits[0]["epochs"] == 3
    assert trial.state.name == "COMPLETE" and sorted(trial.intermediate_values) == [1, 2, 3]
    assert trial.value == max(trial.intermediate_values.values())
    assert trial.user_attrs["epochs"] == 3 and {"val_loss", "accuracy", "loss", "setup_s"} <= set(trial.user_attrs)


def test_the_pruner_stops_the_same_fit_after_the_epoch_it_prunes(data, fits):
    trial = run_one(data, PruneAfter(2), max_epochs=5)
    assert len(fits) == 1
    assert trial.state.name == "PRUNED" and sorted(trial.intermediate_values) == [1, 2]
    assert trial.user_attrs["epochs"] == 2


class StubTrial:
    def __init__(self, prune: bool = False) -> None:
        self.attrs, self.reports, self.prune = {}, [], prune

    def set_user_attr(self, key, value):
        self.attrs[key] = value

    def report(self, value, step):
        self.reports.append((step, value))

    def should_prune(self):
        return self.prune


def callback_after_one_epoch(trial: StubTrial, logs: dict[str, float]):
    callback = _pruning_callback(trial, dict(TINY))
    callback.set_model(types.SimpleNamespace(stop_training=False))
    callback.on_epoch_end(0, logs)
    return callback


def test_a_nan_loss_stops_training_and_is_kept_for_the_objective_to_raise():
    trial = StubTrial()
    callback = callback_after_one_epoch(trial, {"loss": math.nan, "accuracy": 0.3, "val_loss": 1.0,
                                                "val_accuracy": 0.3})
    assert isinstance(callback.diverged, NonFiniteLossError) and callback.model.stop_training
    assert trial.reports == [] and trial.attrs["epochs"] == 1


def test_a_pruned_epoch_is_reported_first_then_training_stops():
    trial = StubTrial(prune=True)
    callback = callback_after_one_epoch(trial, {"loss": 1.0, "accuracy": 0.4, "val_loss": 1.1, "val_accuracy": 0.5})
    assert trial.reports == [(1, 0.5)] and callback.best == 0.5
    assert callback.pruned.startswith("pruned after epoch 1") and callback.model.stop_training


@pytest.mark.parametrize("scheduler, kind", [("asha", "SuccessiveHalvingPruner"), ("hyperband", "HyperbandPruner"),
                                             ("median", "MedianPruner"), ("fifo", "NopPruner")])
def test_each_scheduler_names_the_optuna_pruner_of_the_same_rule(scheduler, kind):
    assert type(build_pruner(scheduler, max_epochs=9, grace_period=1)).__name__ == kind


LR = {"learning_rate": FloatDistribution(1e-5, 1e-2, log=True)}


def optuna_trial(state: str, values: dict[int, float], **attrs):
    return optuna.trial.create_trial(
        params={"learning_rate": 0.001}, distributions=LR, state=getattr(optuna.trial.TrialState, state),
        value=max(values.values()) if state == "COMPLETE" else None, intermediate_values=values,
        user_attrs={"epochs": len(values), **attrs},
    )


def test_optuna_trials_become_records_and_an_interrupted_trial_does_not_count_toward_max_trials():
    study = optuna.create_study(direction="maximize")
    study.add_trials([
        optuna_trial("COMPLETE", {1: 0.4, 2: 0.6}),
        optuna_trial("PRUNED", {1: 0.2}),
        optuna_trial("FAIL", {1: 0.3}, failure_reason="NonFiniteLossError: loss became nan"),
        optuna_trial("FAIL", {1: 0.3}, failure_reason=_INTERRUPTED),
        optuna_trial("FAIL", {}),  # failed by Optuna's heartbeat: its worker died
    ])
    records = study_records(study, max_epochs=2)
    assert [r.status for r in records] == ["complete", "stopped_early", "diverged", "failed", "failed"]
    assert records[0].best_val_accuracy == 0.6 and records[0].val_accuracy_history == [0.4, 0.6]
    assert records[2].failure_reason == "NonFiniteLossError: loss became nan"
    assert records[4].failure_reason == _INTERRUPTED
    assert count_finished(study) == 3  # complete, pruned and the diverged one; not the two cut short
