"""The pairings under Ray's own controller, on an instant stand-in trainable (no TensorFlow).

BayesOpt + HyperBand used to wait for ever: HyperBand culls paused trials, Ray's controller then hands the
searcher no result, and BayesOpt never got the results of its random start. The simulated controller
(``engines.backends.ray_search_simulator``) is only worth its figures if it decides what Ray's decides: with one
trial at a time both must train the same configurations for the same epochs.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from eeg.model import DEFAULT_HPARAMS
from engines.backends.ray_search import build_scheduler, build_search
from engines.backends.ray_search_simulator import simulate_search
from search_spaces import get_space

pytestmark = pytest.mark.slow

MAX_EPOCHS = 4


def _curve(hparams: dict, epoch: int) -> tuple[float, float]:
    ceiling = 0.9 - 0.15 * abs(math.log10(float(hparams["learning_rate"])) + 3.0)
    return 0.2 + (ceiling - 0.2) * (1.0 - math.exp(-epoch / 2.0)), 1.0


def _tune(searcher: str, scheduler: str, trials: int, tmp_path: Any, max_concurrent: int | None) -> Any:
    from ray import tune

    search = build_search(searcher, get_space(), max_trials=trials, seed=0, defaults=DEFAULT_HPARAMS)
    decode = search.decode or dict

    def stand_in(config: dict) -> None:
        import json
        import tempfile
        from pathlib import Path

        checkpoint, start = tune.get_checkpoint(), 0
        if checkpoint is not None:  # HyperBand paused this trial: continue after its last epoch
            with checkpoint.as_directory() as directory:
                start = json.loads((Path(directory) / "state.json").read_text())["epoch"]
        for epoch in range(start + 1, MAX_EPOCHS + 1):
            value, _ = _curve(decode(config), epoch)
            with tempfile.TemporaryDirectory() as directory:
                (Path(directory) / "state.json").write_text(json.dumps({"epoch": epoch}))
                tune.report({"val_accuracy": value, "epoch": epoch},
                            checkpoint=tune.Checkpoint.from_directory(directory))

    tuner = tune.Tuner(
        tune.with_resources(stand_in, {"cpu": 1}),
        param_space=search.param_space,
        tune_config=tune.TuneConfig(metric="val_accuracy", mode="max", search_alg=search.search_alg,
                                    scheduler=build_scheduler(scheduler, max_epochs=MAX_EPOCHS, grace_period=1),
                                    num_samples=search.num_samples, max_concurrent_trials=max_concurrent,
                                    reuse_actors=True,  # as the job runs them (settings.reuse_actors)
                                    time_budget_s=240),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name=f"{searcher}-{scheduler}", verbose=0),
    )
    return tuner.fit(), search


def test_bayesopt_with_hyperband_finishes_all_its_trials_under_rays_controller(local_ray, tmp_path):
    grid, _ = _tune("bayesopt", "hyperband", 12, tmp_path, None)  # more than BayesOpt's 10 random steps
    assert len(grid) == 12
    assert all(result.metrics.get("epoch", 0) >= 1 for result in grid)
    assert any(result.metrics["epoch"] < MAX_EPOCHS for result in grid), "HyperBand culled none: nothing shown"


@pytest.mark.parametrize(("searcher", "scheduler"), [("optuna", "asha"), ("hyperopt", "hyperband")])
def test_the_simulator_trains_what_rays_controller_trains_one_trial_at_a_time(local_ray, tmp_path, searcher,
                                                                               scheduler):
    grid, _ = _tune(searcher, scheduler, 8, tmp_path, 1)
    real = sorted((round(r.metrics["val_accuracy"], 6), r.metrics["epoch"]) for r in grid)
    search = build_search(searcher, get_space(), max_trials=8, seed=0, defaults=DEFAULT_HPARAMS)
    run = simulate_search(search, build_scheduler(scheduler, max_epochs=MAX_EPOCHS, grace_period=1), _curve,
                          max_epochs=MAX_EPOCHS, n_workers=1, max_concurrent=1)
    simulated = sorted((round(_curve(t["hparams"], t["epochs"])[0], 6), t["epochs"]) for t in run.trials.values())
    assert simulated == real
