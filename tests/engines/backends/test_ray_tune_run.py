"""Ray Tune's trials become the shared TrialRecord rows (no Ray runs here).

Ray's ResultGrid is stood in for by objects with the attributes the adapter reads.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from engines.backends.ray_tune_run import collect_records
from search_spaces.cnn_lstm import SPACE


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


