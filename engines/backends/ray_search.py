"""Ray Tune's searchers and schedulers for the CNN+LSTM search space, and the pairs that cannot work.

Searchers (TPE via Optuna or HyperOpt, Bayesian optimisation, BOHB, random, grid) propose
configs; schedulers (ASHA, HyperBand, HyperBand for BOHB, median stopping, FIFO) stop or
pause trials on their per-epoch reports. The dataset goes into the object store once; the
test split never leaves the driver.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from eeg.errors import InputError

__all__ = [
    "SEARCHERS",
    "SCHEDULERS",
    "METRIC",
    "MODE",
    "check_pairing",
    "build_search",
    "build_scheduler",
    "RaySearch",
    "PAUSING_SCHEDULERS",
    "ResultOnCull",
    "grid_size",
]

METRIC, MODE = "val_accuracy", "max"
LATENCY_METRIC = "latency_ms"  # --objective accuracy,latency: minimised beside the accuracy
SEARCHERS = ("optuna", "hyperopt", "bayesopt", "bohb", "random", "grid")
SCHEDULERS = ("asha", "hyperband", "bohb", "median", "fifo")
# Schedulers that pause a trial and resume it later: they need a checkpoint to resume from.
_PAUSING_SCHEDULERS = {
    "hyperband": "HyperBand pauses trials between brackets",
    "bohb": "HyperBandForBOHB pauses trials between brackets",
}
PAUSING_SCHEDULERS = tuple(_PAUSING_SCHEDULERS)


@dataclass
class RaySearch:
    """What a searcher choice turns into for the Tuner."""

    search_alg: Any  # a ray.tune.search.Searcher / SearchAlgorithm
    param_space: dict[str, Any]
    num_samples: int
    decode: Callable[[Mapping[str, Any]], dict] | None  # searcher sample -> model hparams


def _result_on_cull_class() -> type:
    """:class:`ResultOnCull`, defined on first use so importing this module never imports Ray."""
    global _RESULT_ON_CULL
    if _RESULT_ON_CULL is not None:
        return _RESULT_ON_CULL
    from ray.tune.search import Searcher

    class _ResultOnCull(Searcher):
        """Hands a searcher the last result of a trial a scheduler culled while it was PAUSED or PENDING.

        Ray's controller stops such a trial with ``on_trial_complete(trial_id)`` and no result (HyperBand culls the
        bad half of a bracket that way). Searchers then drop the trial: BayesOpt waits for ever for its first
        ``random_search_steps`` results (the stall of BayesOpt + HyperBand), HyperOpt never learns the trial's score,
        Optuna records it as pruned. A RUNNING trial that ASHA stops already hands over its last result, so with this
        wrapper every stopped trial counts the same way: by the last score it reported. Errors stay errors.
        """

        def __init__(self, searcher: Any) -> None:
            self.searcher = searcher
            self.last_results: dict[str, dict] = {}
            self.exhausted = False  # the searcher said FINISHED: it has no more suggestions
            super().__init__(metric=searcher.metric, mode=searcher.mode)

        def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
            return self.searcher.set_search_properties(metric, mode, config, **spec)

        def set_max_concurrency(self, max_concurrent: int) -> bool:
            # False: Ray's ConcurrencyLimiter counts every live trial. BOHB's own limit (the only searcher here with
            # one) counts running trials at suggestion time only, and HyperBandForBOHB then resumes paused trials
            # past it: --max-concurrent 2 ran 4 at once.
            return False

        def suggest(self, trial_id: str) -> dict | None:
            suggestion = self.searcher.suggest(trial_id)
            if suggestion == Searcher.FINISHED:
                self.exhausted = True
            return suggestion

        def on_trial_result(self, trial_id: str, result: dict) -> None:
            self.last_results[trial_id] = result
            self.searcher.on_trial_result(trial_id, result)

        def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
            last = self.last_results.pop(trial_id, None)
            if result is None and not error:
                result = last
            self.searcher.on_trial_complete(trial_id, result=result, error=error)

        def add_evaluated_point(self, *args: Any, **kwargs: Any) -> None:
            return self.searcher.add_evaluated_point(*args, **kwargs)

        def save(self, checkpoint_path: str) -> None:
            self.searcher.save(checkpoint_path)

        def restore(self, checkpoint_path: str) -> None:
            self.searcher.restore(checkpoint_path)

        def get_state(self) -> dict:
            return {"last_results": dict(self.last_results), "exhausted": self.exhausted}

        def set_state(self, state: dict) -> None:
            self.last_results = dict(state.get("last_results", {}))
            self.exhausted = bool(state.get("exhausted", False))

        # BOHB's scheduler calls these on the searcher it finds on the controller.
        def on_pause(self, trial_id: str) -> None:
            self.searcher.on_pause(trial_id)

        def on_unpause(self, trial_id: str) -> None:
            self.searcher.on_unpause(trial_id)

    _RESULT_ON_CULL = _ResultOnCull
    return _ResultOnCull


_RESULT_ON_CULL: type | None = None


def ResultOnCull(searcher: Any) -> Any:  # noqa: N802 - reads as the class it builds
    """Wrap a Ray ``Searcher`` so trials culled while paused still teach it their last score (see above)."""
    return _result_on_cull_class()(searcher)


def grid_size(param_space: Mapping[str, Any]) -> int:
    """How many configurations one pass over a Ray grid (``tune.grid_search`` axes) holds."""
    size = 1
    for value in param_space.values():
        if isinstance(value, dict) and set(value) == {"grid_search"}:
            size *= len(value["grid_search"])
    return size


def check_pairing(searcher: str, scheduler: str, checkpoint: bool) -> None:
    """Refuse, before anything runs, a searcher/scheduler/trainable combination that cannot work."""
    if searcher not in SEARCHERS:
        raise InputError(f"--searcher must be one of {', '.join(SEARCHERS)}, got {searcher!r}")
    if scheduler not in SCHEDULERS:
        raise InputError(f"--scheduler must be one of {', '.join(SCHEDULERS)}, got {scheduler!r}")
    # BOHB is one algorithm in two halves: neither half works with another partner.
    if searcher == "bohb" and scheduler != "bohb":
        raise InputError(
            "--searcher bohb needs --scheduler bohb (BOHB's model-based sampling relies on the HyperBand "
            f"brackets of HyperBandForBOHB), got --scheduler {scheduler}"
        )
    if scheduler == "bohb" and searcher != "bohb":
        raise InputError(
            "--scheduler bohb needs --searcher bohb (HyperBandForBOHB expects TuneBOHB to pause and resume "
            f"its trials), got --searcher {searcher}"
        )
    if scheduler in _PAUSING_SCHEDULERS and not checkpoint:
        instead = "another --searcher with asha, median or fifo" if scheduler == "bohb" else "asha, median or fifo"
        raise InputError(
            f"--scheduler {scheduler} needs per-epoch checkpoints ({_PAUSING_SCHEDULERS[scheduler]}) "
            f"but checkpointing is off (checkpoint: false); turn it on or use {instead}"
        )


def build_search(
    searcher: str, space: Any, *, max_trials: int, seed: int, defaults: Mapping[str, Any], smoke_test: bool = False,
    max_concurrent: int | None = None, live_study: tuple[str, str] | None = None, objective: str = "accuracy",
) -> RaySearch:
    """Translate the plain-data space for ``searcher``; each backend has exactly one translator.

    Args:
        searcher: one of :data:`SEARCHERS`.
        space: a :class:`search_spaces.space.SearchSpace`.
        max_trials: trials to sample (a grid runs its own size once).
        seed: the searcher's seed.
        defaults: model defaults for the knobs a grid holds fixed.
        smoke_test: a grid over one axis of two points instead of the full small grid.
        max_concurrent: ``--max-concurrent`` for random and grid: Ray ignores ``max_concurrent_trials`` beside a
            ready-made BasicVariantGenerator (it only wraps Searchers in a ConcurrencyLimiter), so it goes in here.
        live_study: ``(RDB URL, study name)``: OptunaSearch keeps its study there, so every trial is in it as it runs
            (``make dashboard`` shows them live) and a resumed searcher goes on in it; :func:`fresh_study_storage`.
            Without it, in memory.
        objective: ``"accuracy"``, or ``"accuracy,latency"`` (Optuna only: its TPE takes a metric and a mode each).
    """
    from ray.tune.search.basic_variant import BasicVariantGenerator

    if searcher == "optuna":
        import optuna
        from ray.tune.search.optuna import OptunaSearch

        from search_spaces.translate_optuna import optuna_define_by_run

        # Define-by-run: conditional knobs (lstm_units only with the LSTM on) are truly conditional.
        define_by_run = optuna_define_by_run(space)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        # Multivariate TPE models the knobs jointly (conditional ones by group); Optuna flags it experimental.
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
        where = {"storage": fresh_study_storage(*live_study), "study_name": live_study[1]} if live_study else {}
        metric, mode = ([METRIC, LATENCY_METRIC], [MODE, "min"]) if objective != "accuracy" else (METRIC, MODE)
        alg = OptunaSearch(space=define_by_run, sampler=sampler, metric=metric, mode=mode, **where)
        return RaySearch(ResultOnCull(alg), {}, max_trials, None)
    if searcher == "hyperopt":
        from ray.tune.search.hyperopt import HyperOptSearch

        from search_spaces.translate_hyperopt import decode_hyperopt, to_hyperopt_space

        alg = HyperOptSearch(space=to_hyperopt_space(space), metric=METRIC, mode=MODE, random_state_seed=seed)
        return RaySearch(ResultOnCull(alg), {}, max_trials, functools.partial(decode_hyperopt, space=space))
    if searcher == "bayesopt":
        from ray.tune.search.bayesopt import BayesOptSearch

        from search_spaces.translate_bayesopt import decode_bayesopt, to_bayesopt_bounds

        # bayesian-optimization only takes continuous ranges: search encoded floats, decode in the trainable.
        alg = BayesOptSearch(space=to_bayesopt_bounds(space), metric=METRIC, mode=MODE, random_state=seed)
        return RaySearch(ResultOnCull(alg), {}, max_trials, functools.partial(decode_bayesopt, space=space))
    if searcher == "bohb":
        from ray.tune.search.bohb import TuneBOHB

        from search_spaces.translate_configspace import decode_configspace, to_configspace

        # ConfigSpace keeps conditional knobs conditional; stepped ints are searched as grid indices, decoded here.
        # hpbandster 0.7.4 still calls ConfigSpace's pre-1.0 names, which warn on every suggestion.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="hpbandster")
        alg = TuneBOHB(space=to_configspace(space, seed), metric=METRIC, mode=MODE, seed=seed)
        return RaySearch(ResultOnCull(alg), {}, max_trials, functools.partial(decode_configspace, space=space))
    if searcher == "random":
        from search_spaces.translate_ray import to_ray_param_space

        return RaySearch(BasicVariantGenerator(random_state=seed, max_concurrent=max_concurrent or 0),
                         to_ray_param_space(space), max_trials, None)
    if searcher == "grid":
        from search_spaces.translate_ray import to_ray_grid

        # A grid is exhaustive: --max-trials repeats the whole grid, so one pass is what users mean.
        grid_shape = {"axes": ("learning_rate",), "points_per_axis": 2} if smoke_test else {}
        grid = to_ray_grid(space, defaults, **grid_shape)
        if max_trials < grid_size(grid):
            raise InputError(
                f"--searcher grid runs its whole grid of {grid_size(grid)} configurations once, more than "
                f"--max-trials {max_trials}: pass --max-trials {grid_size(grid)} or use --searcher random or optuna"
            )
        return RaySearch(BasicVariantGenerator(random_state=seed, max_concurrent=max_concurrent or 0), grid, 1, None)
    raise InputError(f"--searcher must be one of {', '.join(SEARCHERS)}, got {searcher!r}")


def fresh_study_storage(url: str, name: str) -> Any:
    """The RDB storage of ``url`` with no study ``name`` left in it: a new experiment's searcher must not learn from
    a deleted experiment's trials (OptunaSearch loads an existing study of its name)."""
    import optuna

    kwargs = {}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"engine_kwargs": {"connect_args": {"timeout": 60}}}  # a parallel run may hold the write lock
    storage = optuna.storages.RDBStorage(url, **kwargs)
    try:
        optuna.delete_study(study_name=name, storage=storage)
    except KeyError:
        pass  # the usual case
    return storage


def build_scheduler(scheduler: str, *, max_epochs: int, grace_period: int,
                    metric: tuple[str, str] | None = None, reduction_factor: int = 3) -> Any:
    """The trial scheduler; all of them count epochs (``training_iteration``).

    ``metric``: ``(name, mode)`` for the scheduler itself, when the Tuner has none (several objectives).
    ``reduction_factor``: the successive-halving rate (ASHA, HyperBand, BOHB). 3, Ray's default: in the settings
    benchmark (benchmarks/bench_asha_settings.py) 4 looked better on 10 seeds and fell behind on 20 fresh ones.
    """
    from ray.tune.schedulers import (
        ASHAScheduler,
        FIFOScheduler,
        HyperBandForBOHB,
        HyperBandScheduler,
        MedianStoppingRule,
    )

    from engines.backends.ray_silent_errors import hears_silent_errors

    grace = max(1, min(grace_period, max_epochs))
    epochs = {"metric": metric[0], "mode": metric[1]} if metric else {}
    epochs.update(time_attr="training_iteration")
    halving = {**epochs, "max_t": max_epochs, "reduction_factor": reduction_factor}
    choices = {
        "asha": (ASHAScheduler, {**halving, "grace_period": grace}),
        "hyperband": (HyperBandScheduler, halving),
        "bohb": (HyperBandForBOHB, halving),
        "median": (MedianStoppingRule, {**epochs, "grace_period": grace, "min_samples_required": 3}),
        "fifo": (FIFOScheduler, {}),
    }
    if scheduler in choices:
        scheduler_class, arguments = choices[scheduler]
        return hears_silent_errors(scheduler_class)(**arguments)
    raise InputError(f"--scheduler must be one of {', '.join(SCHEDULERS)}, got {scheduler!r}")
