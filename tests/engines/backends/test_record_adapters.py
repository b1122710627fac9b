"""Each backend turns its engine's trials into the shared TrialRecord rows (no engine runs here).

Ray's ResultGrid and Keras Tuner's oracle are stood in for by objects with the attributes
the adapters read; Optuna's study is a real in-memory study built with ``create_trial``.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution

from engines.backends.keras_tuner_search import HISTORY_FILE, tuner_records
from engines.backends.optuna_study import _INTERRUPTED, count_finished, study_records
from engines.backends.ray_tune_run import collect_records
from search_spaces.cnn_lstm import SPACE

LR = {"learning_rate": FloatDistribution(1e-5, 1e-2, log=True)}


def ray_result(trial_id: str, history: list[float], *, error: BaseException | None = None, config=None,
               nodes: list[str] | None = None, **extra):
    nodes = nodes or ["node-a"] * len(history)
    # A new node means a new process: Ray's count of iterations since the last restore starts again.
    since_restore = [1 + i - next(j for j in range(i + 1) if nodes[j] == nodes[i]) for i in range(len(nodes))]
    frame = pd.DataFrame({"val_accuracy": history, "node_id": nodes, "iterations_since_restore": since_restore,
                          "training_iteration": range(1, len(history) + 1)}) if history else None
    metrics = {"trial_id": trial_id, "training_iteration": len(history), "val_loss": 1.2, "accuracy": 0.7,
               "loss": float("nan"), "node_id": nodes[-1] if nodes else "node-a", "hostname": "host-a",
               "time_total_s": 9.5, "setup_s": 1.5, **extra}
    return SimpleNamespace(metrics=metrics, metrics_dataframe=frame, error=error, path=f"/x/trial_{trial_id}",
                           config=config or {"learning_rate": 0.001, "use_lstm": False, "lstm_units": 64})


def test_ray_results_become_records_with_status_history_node_and_only_active_params():
    grid = [
        ray_result("a", [0.3, 0.5, 0.4]),
        ray_result("b", [0.2]),
        ray_result("c", [0.1], error=RuntimeError("Traceback...\nValueError: loss became nan at epoch 1")),
        ray_result("d", [0.25]),
        ray_result("e", [0.3, 0.5, 0.35], nodes=["node-a", "node-b", "node-b"]),
        ray_result("f", [0.4, 0.2], diverged="NonFiniteLossError: loss became nan (val_loss nan) at epoch 2"),
    ]
    saved = {"d": {"status": "RUNNING", "retries": 0}, "e": {"status": "TERMINATED", "retries": 0}}
    records = {r.trial_id: r for r in collect_records(grid, SPACE, None, max_epochs=3, saved=saved)}
    assert [records[t].status for t in "abcdef"] == [
        "complete", "stopped_early", "failed", "running", "complete", "diverged"]
    assert (records["e"].retries, records["e"].nodes) == (1, ["node-a", "node-b"])  # moved after its node died
    assert (records["a"].retries, records["a"].nodes) == (0, ["node-a"])
    assert records["f"].failure_reason.startswith("NonFiniteLossError: loss became nan")
    assert records["a"].best_val_accuracy == 0.5 and records["a"].val_accuracy_history == [0.3, 0.5, 0.4]
    assert (records["a"].node_id, records["a"].hostname, records["a"].wall_time_s) == ("node-a", "host-a", 9.5)
    assert records["a"].loss is None  # a non-finite metric is not a number to show
    assert "lstm_units" not in records["a"].params  # inactive without the LSTM
    assert records["c"].failure_reason == "ValueError: loss became nan at epoch 1"


def test_ray_records_decode_what_the_searcher_encoded():
    decoded = []

    def decode(config):
        decoded.append(config)
        return {**config, "learning_rate": 0.005}

    [record] = collect_records([ray_result("a", [0.5])], SPACE, decode, max_epochs=1)
    assert record.params["learning_rate"] == 0.005 and len(decoded) == 1


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
