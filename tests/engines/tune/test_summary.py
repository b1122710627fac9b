"""What a search comes to: counts and the best trial, the baselines beside it, the lines printed, the exit code."""

from __future__ import annotations

import numpy as np
import pytest

from eeg.training import PreparedData
from engines.experiment.records import TrialRecord
from engines.experiment.settings import load_settings
from engines.tune.summary import ValidationContext, exit_code, summarise, summary_lines, validation_context

SETTINGS = load_settings({"use_dummy_data": True, "name": "e1", "max_trials": 4}, None)


def records() -> list[TrialRecord]:
    return [TrialRecord("a", {"lr": 1}, "complete", 0.6, [0.5, 0.6], epochs=2, node_id="n1", setup_s=1.0),
            TrialRecord("b", {"lr": 2}, "diverged", 0.9, [0.9], epochs=1, failure_reason="NonFiniteLossError: nan"),
            TrialRecord("c", {"lr": 3}, "stopped_early", 0.4, [0.4], epochs=1, node_id="n2", retries=1)]


def summary(**changes):
    base = summarise(records(), SETTINGS, run_wall_s=10.0, utilisation=0.5, finished=True)
    return {**base, **ValidationContext(0.2, 0.2).as_summary(), **changes}


def test_a_diverged_trial_is_never_the_best_however_well_it_scored_before_its_nan():
    counted = summarise(records(), SETTINGS, run_wall_s=10.0, utilisation=0.5, finished=True)
    assert counted["best_trial"] == "a" and counted["best_params"] == {"lr": 1}
    assert (counted["complete"], counted["diverged"], counted["stopped_early"]) == (1, 1, 1)
    assert counted["epochs_spent"] == 4 and counted["nodes"] == ["n1", "n2"] and counted["retries"] == 1
    assert counted["first_failure"] == "NonFiniteLossError: nan"


def test_the_nodes_a_backend_saw_this_run_replace_those_every_record_names():
    # A resume on a new local Ray: trial c ran on the first run's node n2, which is not a node of this run.
    counted = summarise(records(), SETTINGS, run_wall_s=10.0, utilisation=0.5, finished=True, run_nodes=["n1"])
    assert counted["nodes"] == ["n1"]


def test_the_printed_lines_put_the_best_trial_beside_its_baselines_and_say_where_things_are():
    lines = summary_lines(summary(), best_file="models/best_hyperparameters.json", trials_table="t.parquet",
                          study_url="sqlite:///x.db", unfinished_line="Not finished")
    assert lines[0] == ("Best trial a: val_accuracy 60.0% at epoch 2 of 2 (validation majority baseline 20.0%, "
                        "chance 20.0%)")
    assert "Best hyperparameters: models/best_hyperparameters.json" in lines
    assert "Not finished" not in lines
    assert lines[-1].startswith("Next: `make report`") and "`make verify`" in lines[-1]
    assert not any("beat the best trial" in line for line in lines)


def test_the_epoch_named_is_the_one_the_best_score_came_from_not_the_last():
    trials = [TrialRecord("a", {"lr": 1}, "complete", 0.75, [0.5, 0.75, 0.7, 0.72], epochs=4)]
    counted = summarise(trials, SETTINGS, run_wall_s=1.0, utilisation=None, finished=True)
    assert (counted["best_epoch"], counted["best_trial_epochs"]) == (2, 4)


def test_a_classical_baseline_that_beats_the_best_trial_on_validation_is_said_in_one_line():
    beaten = summary(val_baselines=[{"name": "logistic regression", "val_accuracy": 0.55},
                                    {"name": "RBF-SVM", "val_accuracy": 0.842}])
    lines = summary_lines(beaten, best_file="b.json", trials_table="t.parquet", study_url="sqlite:///x.db",
                          unfinished_line="Not finished")
    said = [line for line in lines if "beat the best trial" in line]
    assert said == [line for line in said if line.startswith("The RBF-SVM (84.2%) beat the best trial (60.0%)")]
    assert len(said) == 1


@pytest.mark.parametrize(("changes", "interrupted", "code"), [
    ({}, False, 0), ({}, True, 130), ({"trials": 0}, False, 1),
    ({"complete": 0, "stopped_early": 0}, False, 1),
])
def test_the_exit_code_is_zero_when_some_trial_finished(changes, interrupted, code):
    assert exit_code(summary(**changes), interrupted=interrupted)[0] == code


def test_the_validation_context_fits_the_baselines_on_validation_only():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = (rng.normal(size=(60, 4)) + y[:, None]).astype(np.float32)
    prepared = PreparedData(X[:40], y[:40], X[40:], y[40:], None, None, n_classes=3, class_names=("a", "b", "c"))
    data = type("Data", (), {"prepared": prepared})()
    context = validation_context(data, seed=0)
    assert context.chance == pytest.approx(1 / 3) and 0 < context.majority_baseline < 1
    assert {b["name"] for b in context.baselines} == {"logistic regression", "RBF-SVM"}
    assert set(context.as_summary()) == {"val_majority_baseline", "chance", "val_baselines", "selection_warnings"}


def test_with_cv_the_baselines_are_scored_on_the_same_folds_and_the_lines_say_so():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = (rng.normal(size=(60, 4)) + y[:, None]).astype(np.float32)
    folds = [PreparedData(np.delete(X, part, 0), np.delete(y, part), X[part], y[part], None, None, n_classes=3,
                          class_names=("a", "b", "c")) for part in (slice(0, 20), slice(20, 40), slice(40, 60))]
    data = type("Data", (), {"prepared": folds[0], "folds": folds})()
    context = validation_context(data, seed=0)
    single = validation_context(type("Data", (), {"prepared": folds[0]})(), seed=0)
    assert {b["name"] for b in context.baselines} == {"logistic regression", "RBF-SVM"}
    assert [b["val_by_C"] for b in context.baselines] != [b["val_by_C"] for b in single.baselines]
    lines = summary_lines(summary(cv_folds=3, val_baselines=[{"name": "RBF-SVM", "val_accuracy": 0.9}]),
                          best_file="b.json", trials_table="t.parquet", study_url="sqlite:///x.db",
                          unfinished_line="Not finished")
    assert any(line.startswith("Classical baselines on the same 3 folds (mean): RBF-SVM 90.0%") for line in lines)
    assert any("beat the best trial (60.0%) on these 3 folds" in line for line in lines)
