"""Every named searcher x scheduler pairing runs to its --max-trials: the real Ray searchers and schedulers (built by
the code the job uses) on a stand-in trainable whose learning curves come from a formula, on a simulated clock."""

from __future__ import annotations

import math
from typing import Any, Mapping

import pytest

from eeg.model import DEFAULT_HPARAMS
from engines.backends.ray_search import ResultOnCull, build_scheduler, build_search
from engines.backends.ray_search_simulator import simulate_search
from search_spaces import get_space

MAX_EPOCHS = 9
TRIALS = 12

PAIRINGS = [
    ("optuna", "asha"), ("hyperopt", "asha"), ("bayesopt", "asha"),
    ("optuna", "hyperband"), ("hyperopt", "hyperband"), ("bayesopt", "hyperband"),
    ("bohb", "bohb"), ("optuna", "median"), ("random", "fifo"), ("grid", "fifo"),
]


def formula_curve(hparams: Mapping[str, Any], epoch: int) -> tuple[float, float]:
    """Accuracy rises with epochs towards a ceiling set by the learning rate's distance from 1e-3; bigger batches
    take longer epochs."""
    ceiling = 0.9 - 0.15 * abs(math.log10(float(hparams["learning_rate"])) + 3.0)
    return 0.2 + (ceiling - 0.2) * (1.0 - math.exp(-epoch / 3.0)), 1.0 + int(hparams["batch_size"]) / 32


def _search(searcher: str, trials: int = TRIALS, **kwargs: Any) -> Any:
    return build_search(searcher, get_space(), max_trials=trials, seed=0, defaults=DEFAULT_HPARAMS, **kwargs)


@pytest.mark.parametrize("max_concurrent", [None, 2])
@pytest.mark.parametrize(("searcher", "scheduler"), PAIRINGS)
def test_every_pairing_runs_all_its_trials_to_an_end(searcher, scheduler, max_concurrent):
    search = _search(searcher, smoke_test=searcher == "grid", max_concurrent=max_concurrent)
    run = simulate_search(search, build_scheduler(scheduler, max_epochs=MAX_EPOCHS, grace_period=1), formula_curve,
                          max_epochs=MAX_EPOCHS, n_workers=4, max_concurrent=max_concurrent)
    assert not run.stalled
    expected = 2 if searcher == "grid" else TRIALS  # the smoke grid: one axis of two points
    assert len(run.trials) == expected
    assert run.most_running == min(max_concurrent or 4, expected), "--max-concurrent (or the 4 slots) was not kept"
    assert {t["status"] for t in run.trials.values()} <= {"complete", "stopped"}
    assert all(1 <= t["epochs"] <= MAX_EPOCHS for t in run.trials.values())
    if scheduler in ("asha", "hyperband", "bohb") and max_concurrent is None:
        assert any(t["status"] == "stopped" for t in run.trials.values()), "an early-stopping scheduler stopped none"
    assert 0.2 < run.best <= 0.9


def test_without_the_cull_fix_bayesopt_with_hyperband_stalls_as_under_rays_controller():
    search = _search("bayesopt")
    search.search_alg = search.search_alg.searcher  # the bare BayesOptSearch, as Ray hands it culled trials
    run = simulate_search(search, build_scheduler("hyperband", max_epochs=MAX_EPOCHS, grace_period=1), formula_curve,
                          max_epochs=MAX_EPOCHS, n_workers=4)
    assert run.stalled and len(run.trials) < TRIALS


@pytest.mark.parametrize("searcher", ["optuna", "hyperopt", "bayesopt"])
def test_a_trial_hyperband_culls_while_paused_still_teaches_the_searcher_its_score(searcher):
    search = _search(searcher)
    handed: list[tuple[str, Any]] = []
    inner = search.search_alg.searcher
    original = inner.on_trial_complete

    def spy(trial_id: str, result: Any = None, error: bool = False) -> None:
        handed.append((trial_id, result))
        original(trial_id, result=result, error=error)

    inner.on_trial_complete = spy
    run = simulate_search(search, build_scheduler("hyperband", max_epochs=MAX_EPOCHS, grace_period=1), formula_curve,
                          max_epochs=MAX_EPOCHS, n_workers=4)
    stopped = [tid for tid, t in run.trials.items() if t["status"] == "stopped"]
    assert stopped, "HyperBand culled no trial: the test shows nothing"
    assert len(handed) == len(run.trials)
    assert all(result is not None and "val_accuracy" in result for _, result in handed)


def test_a_searcher_that_runs_out_of_suggestions_ends_the_search_cleanly():
    from ray.tune.search import Searcher

    class ThreeThenDone(Searcher):
        def __init__(self) -> None:
            super().__init__(metric="val_accuracy", mode="max")
            self.suggested = 0

        def suggest(self, trial_id: str) -> Any:
            if self.suggested == 3:
                return Searcher.FINISHED
            self.suggested += 1
            return {"learning_rate": 10 ** -(self.suggested + 1), "batch_size": 32}

        def on_trial_complete(self, trial_id: str, result: Any = None, error: bool = False) -> None:
            pass

    search = _search("optuna")
    search.search_alg = ResultOnCull(ThreeThenDone())
    run = simulate_search(search, build_scheduler("asha", max_epochs=MAX_EPOCHS, grace_period=1), formula_curve,
                          max_epochs=MAX_EPOCHS, n_workers=4)
    assert run.searcher_finished and not run.stalled
    assert len(run.trials) == 3 and search.search_alg.exhausted


def test_a_grid_larger_than_max_trials_is_refused_naming_both_flags():
    from eeg.errors import InputError

    with pytest.raises(InputError, match=r"--searcher grid .* 18 configurations .* --max-trials 5"):
        _search("grid", trials=5)


def test_the_simulated_clock_advances_by_each_epochs_seconds():
    run = simulate_search(_search("random", trials=1), build_scheduler("fifo", max_epochs=3, grace_period=1),
                          lambda hp, epoch: (0.5, 2.0), max_epochs=3, n_workers=4)
    assert [e.clock_s for e in run.epochs] == [2.0, 4.0, 6.0]
    assert [p[0] for p in run.anytime()] == [1, 2, 3]


def _fails_once_when_resumed() -> Any:
    """Resuming a paused trial fails once, as Ray's 'Could not re-use actor' does: ERROR, nobody told."""
    failed: set[str] = set()

    def start_fails(trial_id: str, epochs_done: int) -> bool:
        if epochs_done > 0 and not failed:
            failed.add(trial_id)
            return True
        return False

    return start_fails


def test_a_trial_ray_ends_without_telling_the_scheduler_no_longer_stalls_hyperband():
    from ray.tune.schedulers import HyperBandScheduler

    bare = HyperBandScheduler(time_attr="training_iteration", max_t=MAX_EPOCHS, reduction_factor=3)
    run = simulate_search(_search("optuna"), bare, formula_curve, max_epochs=MAX_EPOCHS, n_workers=4,
                          start_fails=_fails_once_when_resumed())
    assert run.stalled, "Ray's own HyperBand waits for the silently failed trial (the 55-minute stall)"

    run = simulate_search(_search("optuna"), build_scheduler("hyperband", max_epochs=MAX_EPOCHS, grace_period=1),
                          formula_curve, max_epochs=MAX_EPOCHS, n_workers=4, start_fails=_fails_once_when_resumed())
    assert not run.stalled and len(run.trials) == TRIALS
    statuses = [t["status"] for t in run.trials.values()]
    assert statuses.count("error") == 1 and set(statuses) <= {"complete", "stopped", "error"}


@pytest.mark.parametrize("scheduler", ["asha", "fifo"])
def test_a_silently_failed_trial_gives_its_concurrency_slot_back(scheduler):
    # Every third trial fails at its first start: with --max-concurrent 2, two such failures would hold both slots.
    fails = {"count": 0}

    def start_fails(trial_id: str, epochs_done: int) -> bool:
        fails["count"] += 1
        return epochs_done == 0 and fails["count"] % 3 == 0

    run = simulate_search(_search("optuna", max_concurrent=2),
                          build_scheduler(scheduler, max_epochs=MAX_EPOCHS, grace_period=1), formula_curve,
                          max_epochs=MAX_EPOCHS, n_workers=4, max_concurrent=2, start_fails=start_fails)
    assert not run.stalled and len(run.trials) == TRIALS
    assert [t["status"] for t in run.trials.values()].count("error") >= 2
