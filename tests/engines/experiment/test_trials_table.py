"""The trials table keeps every trial's fields, history, nodes and config, whatever method ran it."""

from __future__ import annotations

import json

from engines.experiment.records import TrialRecord
from engines.experiment.trials_table import read_trials_table, write_trials_table


def test_records_round_trip_through_parquet_with_history_nodes_and_config_columns(tmp_path):
    records = [TrialRecord("a", {"learning_rate": 0.01, "lstm_units": 64}, "complete", 0.6, [0.4, 0.6], epochs=2,
                           node_id="n1"),
               TrialRecord("b", {"learning_rate": 0.02}, "failed", failure_reason="RuntimeError: boom")]
    parquet, csv = write_trials_table(records, tmp_path)
    assert parquet.is_file() and csv.is_file()
    table = read_trials_table(tmp_path)
    assert list(table["trial_id"]) == ["a", "b"] and list(table["status"]) == ["complete", "failed"]
    assert json.loads(table["val_accuracy_history"][0]) == [0.4, 0.6]
    assert json.loads(table["nodes"][0]) == ["n1"] and json.loads(table["nodes"][1]) == []
    assert table["config/learning_rate"].tolist() == [0.01, 0.02]
    assert table["failure_reason"][1] == "RuntimeError: boom"
