"""The shared trial record's helpers and the one mapping from each engine's trial states to a status."""

from __future__ import annotations

import math

import pytest

from engines.experiment.records import (
    STATUSES,
    already_finished_line,
    failure_reason,
    finite_or_none,
    status_of_keras_tuner_trial,
    status_of_optuna_trial,
    status_of_ray_trial,
)

NAN = "Traceback (most recent call last):\n  ...\nNonFiniteLossError: loss became nan at epoch 2"


def test_the_reason_of_a_failure_is_the_last_line_that_names_an_error():
    assert failure_reason(NAN) == "NonFiniteLossError: loss became nan at epoch 2"
    assert failure_reason(None) is None and failure_reason(ValueError()) == "ValueError"


def test_only_finite_numbers_survive_as_floats():
    assert finite_or_none("0.5") == 0.5
    assert [finite_or_none(v) for v in (math.nan, math.inf, None, "x")] == [None] * 4


@pytest.mark.parametrize(("state", "epochs", "reason", "status"), [
    ("COMPLETE", 3, None, "complete"), ("COMPLETE", 2, None, "stopped_early"), ("PRUNED", 1, None, "stopped_early"),
    ("FAIL", 1, "RuntimeError: boom", "failed"), ("FAIL", 1, NAN, "diverged"), ("RUNNING", 1, None, "running"),
])
def test_an_optuna_trial_state_maps_to_one_status(state, epochs, reason, status):
    assert status_of_optuna_trial(state, epochs, 3, reason) == status


@pytest.mark.parametrize(("state", "epochs", "message", "status"), [
    ("COMPLETED", 3, None, "complete"), ("COMPLETED", 1, None, "stopped_early"), ("FAILED", 1, NAN, "diverged"),
    ("INVALID", 0, "bad", "failed"), ("RUNNING", 1, None, "running"),
])
def test_a_keras_tuner_trial_status_maps_to_one_status(state, epochs, message, status):
    assert status_of_keras_tuner_trial(state, epochs, 3, message) == status


@pytest.mark.parametrize(("saved", "epochs", "flags", "status"), [
    ("TERMINATED", 3, {}, "complete"), ("TERMINATED", 1, {}, "stopped_early"), ("ERROR", 1, {}, "failed"),
    ("RUNNING", 1, {}, "running"), ("PENDING", 3, {}, "complete"), (None, 1, {}, "running"),
    ("TERMINATED", 2, {"diverged": True}, "diverged"), ("TERMINATED", 2, {"errored": True}, "failed"),
])
def test_a_ray_trial_maps_to_one_status(saved, epochs, flags, status):
    assert status_of_ray_trial(saved, epochs, 3, **flags) == status
    assert status in STATUSES


def test_a_finished_experiment_says_so_and_where_its_results_are():
    line = already_finished_line("e1", 5, "models/tuning/e1", ", --max-trials 5")
    assert line == ("Experiment 'e1' already finished (5 trials, --max-trials 5); nothing to resume. "
                    "Results: models/tuning/e1")
