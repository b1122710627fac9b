"""Contract: every searcher pairs with every scheduler in a real smoke tune through the CLI entry point."""

from __future__ import annotations

import json

import pytest

import tune_cluster
from engines.ray_tune import SCHEDULERS, SEARCHERS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("searcher", SEARCHERS)
def test_a_smoke_tune_runs_with_every_searcher_and_scheduler(local_ray, tmp_path, searcher, scheduler, capsys):
    import pandas as pd

    from eeg.model import resolve_hparams

    code = tune_cluster.main(
        [
            "--use-dummy-data", "--smoke-test", "--searcher", searcher, "--scheduler", scheduler,
            "--max-trials", "2", "--max-epochs", "2", "--output-dir", str(tmp_path), "--name", "contract",
            "--verbose", "0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    trials = pd.read_parquet(tmp_path / "tuning" / "contract" / "trials.parquet")
    assert len(trials) == 2  # the smoke grid is one axis of two points, the others sample 2 trials
    assert set(trials["status"]) <= {"complete", "stopped_early"}
    assert trials["node_id"].notna().all() and (trials["epochs"] >= 1).all()
    document = json.loads((tmp_path / "best_hyperparameters.json").read_text())
    assert document["metadata"]["searcher"] == searcher and document["metadata"]["scheduler"] == scheduler
    assert 0.0 <= document["metadata"]["best_score"] <= 1.0
    resolve_hparams(document["hyperparameters"])  # BayesOpt's encoded floats came back as real model knobs
    assert "validation majority baseline" in out
