"""The real-model check of the surrogate: the anytime curve from Ray's reports and the epochs to a target."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_search_real import anytime_from_reports, epochs_to_reach  # noqa: E402


def test_reports_of_concurrent_trials_are_merged_in_time_order_into_a_best_so_far_curve():
    # (timestamp, epoch, val_accuracy) of two trials reporting in the same seconds.
    reports = [(10.0, 1, 0.30), (11.0, 2, 0.50), (10.0, 1, 0.40), (12.0, 2, 0.35), (11.0, 3, 0.45)]
    assert anytime_from_reports(reports) == [0.30, 0.40, 0.50, 0.50, 0.50]


def test_epochs_to_reach_counts_every_epoch_until_the_target_and_none_when_never():
    curve = [0.2, 0.4, 0.4, 0.6]
    assert epochs_to_reach(curve, 0.4) == 2 and epochs_to_reach(curve, 0.6) == 4 and epochs_to_reach(curve, 0.7) is None
