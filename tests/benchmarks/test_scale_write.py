"""bench_scale's optuna-write part: both ways write the run's two studies, and the scale section keeps its other keys."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_scale import optuna_write  # noqa: E402


def test_optuna_write_times_both_ways_and_keeps_the_rest_of_scale(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"scale": {"trials": 1000, "utilization": 0.034}}))
    figures = optuna_write(argparse.Namespace(trials=12, out=str(tmp_path)))
    write = figures["optuna_write"]
    assert write["trials"] == 12 and write["studies"] == 2
    assert figures["optuna_write_ms_per_trial"] == write["project_ms_per_trial"] > 0
    assert write["add_trials_ms_per_trial"] > 0 and write["speedup"] > 0
    assert figures["trials"] == 1000 and figures["utilization"] == 0.034  # the cluster run's figures are kept
