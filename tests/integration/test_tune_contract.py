"""Contract: the searcher/scheduler pairings run in a real smoke tune through the CLI entry point.

Every searcher runs with the default scheduler (ASHA) and with HyperBand, the one that pauses trials and
so calls back into the searcher (``on_pause``/``on_unpause``, the ConcurrencyLimiter); median and FIFO only
let a trial go on or stop it, which every searcher sees as the trial ending, so they run with the default
searcher. A pairing that ``check_pairing`` refuses (BOHB's searcher and scheduler only work together) must
instead exit 2 with one line on stderr, before anything is written: every one of those is tried.

The pairing is under test here, not the network: trials run a stand-in of ``train_cnn_lstm`` that reports the
same metrics and saves and restores a checkpoint as it does, without TensorFlow (a trial in under a second, not
five). The real trainable runs under the CLI in the other integration tests and in ``tests/trainables``.
"""

from __future__ import annotations

import json

import pytest

import tune_cluster
from eeg.errors import InputError
from engines.backends.ray_search import SCHEDULERS, SEARCHERS, check_pairing

pytestmark = pytest.mark.slow


def _refused(searcher: str, scheduler: str) -> bool:
    try:
        check_pairing(searcher, scheduler, checkpoint=True)  # checkpoints are on by default
    except InputError:
        return True
    return False


def _pairings() -> list[tuple[str, str]]:
    """Each refused pairing, each searcher with asha and hyperband, each scheduler with the default searcher."""
    pairs = [(searcher, scheduler) for searcher in SEARCHERS for scheduler in SCHEDULERS
             if _refused(searcher, scheduler) or scheduler in ("asha", "hyperband") or searcher == "optuna"
             or (searcher, scheduler) == ("bohb", "bohb")]
    assert {s for s, _ in pairs} == set(SEARCHERS) and {s for _, s in pairs} == set(SCHEDULERS)
    return pairs


@pytest.fixture
def stand_in_trainable(monkeypatch):
    """``train_cnn_lstm``'s reports and checkpoints, a score from the configuration, no TensorFlow."""
    import trainables.cnn_lstm

    def stand_in(config, data, max_epochs, seed=0, cpus_per_trial=1.0, checkpoint=True, checkpoint_every="auto",
                 decode=None, extra_metrics=None):
        import json
        import math
        import socket
        import tempfile
        from pathlib import Path

        import ray
        from ray import tune

        from eeg.model import resolve_hparams
        from eeg.splits import majority_baseline

        hparams = resolve_hparams(decode(config) if decode else config)  # BayesOpt's floats decode to real knobs
        ceiling = 0.9 - 0.1 * abs(math.log10(float(hparams["learning_rate"])) + 3.0)
        fixed = {"node_id": ray.get_runtime_context().get_node_id(), "hostname": socket.gethostname(),
                 "val_majority_baseline": majority_baseline(data.y_train, data.y_val), "n_params": 1000,
                 "latency_ms": 1.0, "setup_s": 0.0, "tf_import_s": 0.0}
        restored, start = tune.get_checkpoint(), 0
        if restored is not None:  # a paused (HyperBand) or retried trial continues after its last epoch
            with restored.as_directory() as folder:
                start = json.loads((Path(folder) / "state.json").read_text())["epoch"]
        for epoch in range(start + 1, max_epochs + 1):
            score = 0.2 + (ceiling - 0.2) * (1.0 - math.exp(-epoch / 2.0))
            metrics = {"val_accuracy": score, "val_loss": 1.0 - score, "accuracy": score, "loss": 1.0 - score,
                       "epoch": epoch, **fixed}
            if not checkpoint:
                tune.report(metrics)
                continue
            with tempfile.TemporaryDirectory() as folder:
                (Path(folder) / "state.json").write_text(json.dumps({"epoch": epoch}))
                tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))

    monkeypatch.setattr(trainables.cnn_lstm, "train_cnn_lstm", stand_in)


@pytest.mark.parametrize(("searcher", "scheduler"), _pairings())
def test_a_smoke_tune_runs_with_every_searcher_and_scheduler(local_ray, stand_in_trainable, tmp_path, searcher,
                                                             scheduler, capsys):
    import pandas as pd

    from eeg.model import resolve_hparams

    output = tmp_path / "out"
    code = tune_cluster.main(
        [
            "--use-dummy-data", "--smoke-test", "--searcher", searcher, "--scheduler", scheduler,
            "--max-trials", "2", "--max-epochs", "2", "--output-dir", str(output), "--name", "contract",
            "--verbose", "0",
        ]
    )
    captured = capsys.readouterr()
    if _refused(searcher, scheduler):
        err = captured.err.strip()
        assert code == 2, captured.out
        assert len(err.splitlines()) == 1 and "--searcher" in err and "--scheduler" in err, err
        assert not output.exists()
        return
    out = captured.out
    assert code == 0, out
    trials = pd.read_parquet(output / "tuning" / "contract" / "trials.parquet")
    assert len(trials) == 2  # the smoke grid is one axis of two points, the others sample 2 trials
    assert set(trials["status"]) <= {"complete", "stopped_early"}
    assert trials["node_id"].notna().all() and (trials["epochs"] >= 1).all()
    document = json.loads((output / "best_hyperparameters.json").read_text())
    assert document["metadata"]["searcher"] == searcher and document["metadata"]["scheduler"] == scheduler
    assert 0.0 <= document["metadata"]["best_score"] <= 1.0
    resolve_hparams(document["hyperparameters"])  # BayesOpt's encoded floats came back as real model knobs
    assert "validation majority baseline" in out
