"""The overnight scenario's readers, on files like the ones its job writes (no cluster starts here)."""

from __future__ import annotations

import json

import pandas as pd

from cluster.overnight import OvernightResult, figures, trial_reports


def test_a_trials_reports_skip_the_line_being_written(tmp_path):
    (tmp_path / "result.json").write_text(json.dumps({"epoch": 1}) + "\n" + json.dumps({"epoch": 2}) + '\n{"ep')
    assert trial_reports(tmp_path) == [{"epoch": 1}, {"epoch": 2}]
    assert trial_reports(tmp_path / "none") == []


def test_the_figures_count_statuses_retries_throughput_and_the_drivers_memory(tmp_path):
    pd.DataFrame({"status": ["complete", "complete", "failed", "stopped_early"], "retries": [0, 1, 2, 0]}) \
        .to_parquet(tmp_path / "trials.parquet")
    (tmp_path / "summary.json").write_text(json.dumps({"worker_utilisation": 0.9}))
    result = OvernightResult(0, "", tmp_path, tmp_path, 3600.0, "w1", "trial_1", [(1, 100.0), (2, 120.0), (4, 110.0)])
    numbers = figures(result)
    assert numbers["trials"] == 4 and numbers["statuses"] == {"complete": 2, "failed": 1, "stopped_early": 1}
    assert (numbers["retried_trials"], numbers["retries"], numbers["trials_per_hour"]) == (2, 3, 4.0)
    assert numbers["driver_rss_mb_peak"] == 120.0 and numbers["worker_utilisation"] == 0.9
