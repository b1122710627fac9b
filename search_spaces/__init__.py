"""Search spaces as plain data, one module per model, and one translator per backend.

``search_spaces.cnn_lstm.SPACE`` is the CNN + LSTM model's space. Each ``translate_*``
module turns a space into one backend's format and raises :class:`SpaceError` on anything
it cannot map; backends are imported lazily, so importing this package is cheap.

How each plugs into Ray Tune (see each module's docstring for the details)::

    Tuner(trainable, param_space=to_ray_param_space(space))              # random, ASHA/PBT
    Tuner(trainable, param_space=to_ray_grid(space, DEFAULT_HPARAMS))    # --searcher grid
    OptunaSearch(space=optuna_define_by_run(space), metric=m, mode="max")
    HyperOptSearch(space=to_hyperopt_space(space), metric=m, mode="max")
    BayesOptSearch(space=to_bayesopt_bounds(space), metric=m, mode="max")
    TuneBOHB(space=to_configspace(space, seed), metric=m, mode="max")   # with HyperBandForBOHB

and every trainable starts with ``hparams = decode_config(config, space)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from search_spaces.cnn_lstm import SPACE
from search_spaces.overrides import apply_space_overrides, check_space_against_model, load_space_overrides
from search_spaces.space import Bool, Categorical, Condition, Float, Int, Param, SearchSpace, SpaceError
from search_spaces.translate_bayesopt import decode_bayesopt, to_bayesopt_bounds
from search_spaces.translate_configspace import decode_configspace, to_configspace
from search_spaces.translate_hyperopt import decode_hyperopt, to_hyperopt_space
from search_spaces.translate_keras_tuner import build_keras_tuner_hparams
from search_spaces.translate_optuna import optuna_define_by_run, optuna_distributions, suggest_optuna
from search_spaces.translate_ray import DEFAULT_GRID_AXES, to_ray_grid, to_ray_param_space

__all__ = [
    "SPACE",
    "SPACES",
    "get_space",
    "decode_config",
    "SpaceError",
    "SearchSpace",
    "Param",
    "Float",
    "Int",
    "Categorical",
    "Bool",
    "Condition",
    "load_space_overrides",
    "apply_space_overrides",
    "check_space_against_model",
    "to_ray_param_space",
    "to_ray_grid",
    "DEFAULT_GRID_AXES",
    "suggest_optuna",
    "optuna_define_by_run",
    "optuna_distributions",
    "to_hyperopt_space",
    "decode_hyperopt",
    "to_bayesopt_bounds",
    "decode_bayesopt",
    "to_configspace",
    "decode_configspace",
    "build_keras_tuner_hparams",
]

SPACES: dict[str, SearchSpace] = {SPACE.name: SPACE}


def get_space(name: str = "cnn_lstm", overrides_path: str | None = None) -> SearchSpace:
    """The built-in space ``name``, with ``--space`` overrides applied when a path is given.

    Raises:
        SpaceError: Unknown space name, or a bad override file.
    """
    if name not in SPACES:
        raise SpaceError(f"unknown search space {name!r}; known: {', '.join(SPACES)}")
    space = SPACES[name]
    return load_space_overrides(overrides_path, space) if overrides_path else space


def decode_config(config: Mapping[str, Any], space: SearchSpace) -> dict[str, Any]:
    """Plain model hparams from whatever any Ray searcher put into a trial's ``config``.

    Decodes BayesOptSearch's encoded coordinates and TuneBOHB's grid indices, turns numpy
    scalars into Python ones and puts Ints back on their grid; keys outside ``space``
    (epochs, paths) pass through.
    Idempotent, and a no-op on configs from the random, grid, Optuna and HyperOpt searchers,
    so a trainable can call it unconditionally. Pass the same (possibly overridden) space
    the searcher was built from.

    Raises:
        SpaceError: A value that cannot belong to its parameter.
    """
    return decode_bayesopt(decode_configspace(config, space), space)
