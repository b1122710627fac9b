"""The search-efficiency benchmark's own parts: the surrogate, the one-epoch baseline, the anytime arithmetic."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_search_efficiency import OneEpochThenTopK, first_reaching  # noqa: E402
from surrogate import encode, fit_surrogate  # noqa: E402

from eeg.model import DEFAULT_HPARAMS  # noqa: E402
from engines.backends.ray_search import build_search  # noqa: E402
from engines.backends.ray_search_simulator import simulate_search  # noqa: E402
from search_spaces import get_space  # noqa: E402


def _recorded_curves(n_configs: int = 40, epochs: int = 6) -> pd.DataFrame:
    """Curves whose ceiling depends on the learning rate only: a surrogate must rank configurations by it."""
    rng = np.random.default_rng(0)
    rows = []
    for config_id in range(n_configs):
        lr = 10 ** rng.uniform(-5, -2)
        ceiling = 0.9 - 0.2 * abs(np.log10(lr) + 3.5)
        for epoch in range(1, epochs + 1):
            rows.append({"config_id": config_id, "epoch": epoch, "epoch_seconds": 2.0 if epoch == 1 else 0.5,
                         "val_accuracy": 0.2 + (ceiling - 0.2) * (1 - np.exp(-epoch / 2)) + rng.normal(0, 0.005),
                         **{f"hp_{k}": v for k, v in {**DEFAULT_HPARAMS, "learning_rate": lr}.items()
                            if k in get_space()}})
    return pd.DataFrame(rows)


def test_the_surrogate_ranks_unseen_configurations_by_what_drives_their_curves():
    surrogate = fit_surrogate(_recorded_curves(), get_space())
    assert surrogate.rank_correlation > 0.8
    good, bad = {**DEFAULT_HPARAMS, "learning_rate": 10 ** -3.5}, {**DEFAULT_HPARAMS, "learning_rate": 1e-5}
    assert surrogate.curve(good)[0][-1] > surrogate.curve(bad)[0][-1]
    accuracy, seconds = surrogate.stand_in(0)(good, 1)
    assert 0 <= accuracy <= 1 and seconds == pytest.approx(2.0, rel=0.2)
    assert surrogate.stand_in(0)(good, 3) == surrogate.stand_in(0)(good, 3)  # noise seeded: same run, same value


def test_an_inactive_conditional_parameter_is_encoded_as_missing():
    row = encode({**DEFAULT_HPARAMS, "use_lstm": False}, get_space())
    names = [p.name for p in get_space()]
    assert np.isnan(row[names.index("lstm_units")]) and not np.isnan(row[names.index("learning_rate")])


def test_the_one_epoch_baseline_trains_every_trial_once_and_the_top_k_to_the_end():
    search = build_search("random", get_space(), max_trials=12, seed=0, defaults=DEFAULT_HPARAMS)
    curve = lambda hp, epoch: (float(np.log10(hp["learning_rate"])) / 10 + 0.6 + epoch / 100, 1.0)  # noqa: E731
    run = simulate_search(search, OneEpochThenTopK(12, 3), curve, max_epochs=5, n_workers=4)
    epochs = sorted(t["epochs"] for t in run.trials.values())
    assert epochs == [1] * 9 + [5] * 3 and not run.stalled
    best_three = sorted(run.trials.values(), key=lambda t: t["hparams"]["learning_rate"])[-3:]
    assert all(t["epochs"] == 5 for t in best_three)


def test_first_reaching_reads_epochs_or_seconds_and_none_when_never():
    points = [(1, 10.0, 0.5), (2, 20.0, 0.7), (3, 30.0, 0.7)]
    assert first_reaching(points, 0.7, 0) == 2 and first_reaching(points, 0.7, 1) == 20.0
    assert first_reaching(points, 0.8, 0) is None


def test_a_setting_is_scored_against_each_seeds_random_best_and_a_seed_that_never_reaches_it_counts_zero():
    from bench_asha_settings import score_setting

    # (epochs, seconds, best so far): random + FIFO reaches 0.8 at 400 epochs in seed 0, 0.9 at 300 in seed 1.
    reference = {0: {"anytime": [(100, 60.0, 0.5), (400, 240.0, 0.8)]},
                 1: {"anytime": [(300, 180.0, 0.9)]}}
    runs = {0: {"anytime": [(50, 30.0, 0.6), (100, 60.0, 0.85)], "completed": True},
            1: {"anytime": [(200, 120.0, 0.7)], "completed": True}}
    row = score_setting(runs, reference)
    assert row["epoch_speedup_vs_random_fifo"]["values"] == [4.0, 0.0]  # 400 / 100; seed 1 never gets to 0.9
    assert row["reached_random_best"] == "1 of 2 seeds"
    assert row["epochs_to_random_best_median"] is None  # not most seeds: no median of the ones that made it
    assert row["final_best_minus_random_median"] == pytest.approx((0.05 - 0.2) / 2)
    assert row["epochs_used_median"] == 150 and row["completed_runs"] == 2
