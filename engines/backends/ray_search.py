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
]

METRIC, MODE = "val_accuracy", "max"
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
    searcher: str, space: Any, *, max_trials: int, seed: int, defaults: Mapping[str, Any], smoke_test: bool = False
) -> RaySearch:
    """Translate the plain-data space for ``searcher``; each backend has exactly one translator.

    Args:
        searcher: one of :data:`SEARCHERS`.
        space: a :class:`search_spaces.space.SearchSpace`.
        max_trials: trials to sample (a grid runs its own size once).
        seed: the searcher's seed.
        defaults: model defaults for the knobs a grid holds fixed.
        smoke_test: a grid over one axis of two points instead of the full small grid.
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
        return RaySearch(OptunaSearch(space=define_by_run, sampler=sampler, metric=METRIC, mode=MODE), {}, max_trials, None)
    if searcher == "hyperopt":
        from ray.tune.search.hyperopt import HyperOptSearch

        from search_spaces.translate_hyperopt import decode_hyperopt, to_hyperopt_space

        alg = HyperOptSearch(space=to_hyperopt_space(space), metric=METRIC, mode=MODE, random_state_seed=seed)
        return RaySearch(alg, {}, max_trials, functools.partial(decode_hyperopt, space=space))
    if searcher == "bayesopt":
        from ray.tune.search.bayesopt import BayesOptSearch

        from search_spaces.translate_bayesopt import decode_bayesopt, to_bayesopt_bounds

        # bayesian-optimization only takes continuous ranges: search encoded floats, decode in the trainable.
        alg = BayesOptSearch(space=to_bayesopt_bounds(space), metric=METRIC, mode=MODE, random_state=seed)
        return RaySearch(alg, {}, max_trials, functools.partial(decode_bayesopt, space=space))
    if searcher == "bohb":
        from ray.tune.search.bohb import TuneBOHB

        from search_spaces.translate_configspace import decode_configspace, to_configspace

        # ConfigSpace keeps conditional knobs conditional; stepped ints are searched as grid indices, decoded here.
        # hpbandster 0.7.4 still calls ConfigSpace's pre-1.0 names, which warn on every suggestion.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="hpbandster")
        alg = TuneBOHB(space=to_configspace(space, seed), metric=METRIC, mode=MODE, seed=seed)
        return RaySearch(alg, {}, max_trials, functools.partial(decode_configspace, space=space))
    if searcher == "random":
        from search_spaces.translate_ray import to_ray_param_space

        return RaySearch(BasicVariantGenerator(random_state=seed), to_ray_param_space(space), max_trials, None)
    if searcher == "grid":
        from search_spaces.translate_ray import to_ray_grid

        # A grid is exhaustive: --max-trials repeats the whole grid, so one pass is what users mean.
        grid_shape = {"axes": ("learning_rate",), "points_per_axis": 2} if smoke_test else {}
        return RaySearch(BasicVariantGenerator(random_state=seed), to_ray_grid(space, defaults, **grid_shape), 1, None)
    raise InputError(f"--searcher must be one of {', '.join(SEARCHERS)}, got {searcher!r}")


def build_scheduler(scheduler: str, *, max_epochs: int, grace_period: int) -> Any:
    """The trial scheduler; all of them count epochs (``training_iteration``)."""
    from ray.tune.schedulers import (
        ASHAScheduler,
        FIFOScheduler,
        HyperBandForBOHB,
        HyperBandScheduler,
        MedianStoppingRule,
    )

    grace = max(1, min(grace_period, max_epochs))
    if scheduler == "asha":
        return ASHAScheduler(time_attr="training_iteration", max_t=max_epochs, grace_period=grace, reduction_factor=3)
    if scheduler == "hyperband":
        return HyperBandScheduler(time_attr="training_iteration", max_t=max_epochs, reduction_factor=3)
    if scheduler == "bohb":
        return HyperBandForBOHB(time_attr="training_iteration", max_t=max_epochs, reduction_factor=3)
    if scheduler == "median":
        return MedianStoppingRule(time_attr="training_iteration", grace_period=grace, min_samples_required=3)
    if scheduler == "fifo":
        return FIFOScheduler()
    raise InputError(f"--scheduler must be one of {', '.join(SCHEDULERS)}, got {scheduler!r}")
