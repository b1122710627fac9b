"""``benchmarks/bench_pipeline.py``: issue 16's keys from the runs' rows, the interval pooled over seeds."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.bench_pipeline import summarise  # noqa: E402


def _row(seed, search, tuned, baseline_units=None, tuned_units=None):
    row = {"split": "trial", "seed": seed, "search": search, "tune_s": 10.0, "tuned_test": tuned, "default_test": 0.5,
           "best_val": 0.9, "hyperparameters": {"model_family": "svm"}}
    if search == "pipeline":
        row["versus"] = {"baseline_test_accuracy": 0.6, "unit": "test recordings",
                         "tuned_by_unit": tuned_units, "baseline_by_unit": baseline_units}
    return row


def test_the_keys_are_means_over_seeds_and_the_interval_pools_every_seeds_units():
    units = {f"{s}:{t}": 0.5 + 0.1 * (t % 3) for s in range(2) for t in range(4)}
    better = {u: v + 0.2 for u, v in units.items()}
    rows = [_row(0, "pipeline", 0.8, units, better), _row(0, "network", 0.7),
            _row(1, "pipeline", 0.9, units, better), _row(1, "network", 0.75), _row(2, "pipeline", 0.1, units, units)]
    figures = summarise(rows, [0, 1, 2])["trial"]
    assert figures["seeds"] == [0, 1]  # seed 2 has no network-only run yet: left out of every key
    assert abs(figures["tuned_test"] - 0.85) < 1e-9 and abs(figures["network_tuned_test"] - 0.725) < 1e-9
    assert figures["best_baseline_test"] == 0.6 and figures["units"] == 16  # 8 recordings x 2 seeds, kept apart
    assert abs(figures["paired_gain"] - 0.2) < 1e-9 and abs(figures["ci_low"] - 0.2) < 1e-9
