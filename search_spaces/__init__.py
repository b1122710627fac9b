"""Search spaces as plain data, one module per model, and one translator per backend.

``search_spaces.cnn_lstm.SPACE`` is the CNN + LSTM model's space. Each ``translate_*``
module turns a space into one backend's format and raises :class:`SpaceError` on anything
it cannot map; backends are imported lazily, so importing this package is cheap.
:func:`get_space` applies a ``--space`` override file and checks every value it allows
against the model's own validator (``eeg.model.resolve_hparams``) before any trial runs.

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
from search_spaces.overrides import (apply_space_overrides, check_space_against_model, load_space_overrides,
                                     read_base_space_name)
from search_spaces.space import Bool, Categorical, Condition, Float, Int, Param, SearchSpace, SpaceError
from search_spaces.translate_bayesopt import decode_bayesopt, to_bayesopt_bounds
from search_spaces.translate_configspace import decode_configspace, to_configspace
from search_spaces.translate_hyperopt import decode_hyperopt, to_hyperopt_space
from search_spaces.translate_keras_tuner import build_keras_tuner_hparams
from search_spaces.translate_optuna import optuna_define_by_run, optuna_distributions, suggest_optuna
from search_spaces.translate_ray import DEFAULT_GRID_AXES, to_ray_grid, to_ray_param_space

__all__ = [
    "SPACE",
    "SPACE_NAMES",
    "get_space",
    "resolve_space",
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

# The built-in spaces. The pipeline's is imported when asked for: it needs eeg.pipeline (SciPy), the seed's does not.
SPACE_NAMES: tuple[str, ...] = ("cnn_lstm", "pipeline")


def _built_in(name: str) -> SearchSpace:
    if name == "pipeline":
        from search_spaces.pipeline import SPACE as PIPELINE_SPACE

        return PIPELINE_SPACE
    return SPACE


def resolve_space(value: str | None) -> SearchSpace:
    """What ``--space`` names: nothing (the seed's space), a built-in name, or an override file (whose
    ``space:`` key, when present, names the built-in space it changes)."""
    if not value:
        return get_space()
    if value in SPACE_NAMES:
        return get_space(value)
    return get_space(read_base_space_name(value) or SPACE.name, value)


def get_space(name: str = "cnn_lstm", overrides_path: str | None = None) -> SearchSpace:
    """The built-in space ``name``, with ``--space`` overrides applied when a path is given.

    An override file is also checked against the model (:func:`check_space_against_model`), so a
    range the model cannot build (``kernel_size: {choices: [9]}``) stops the run at load time,
    not inside every trial that samples it.

    Args:
        name: One of :data:`SPACE_NAMES`.
        overrides_path: A ``--space`` YAML file, or ``None`` for the built-in space as is.

    Raises:
        SpaceError: Unknown space name, a bad override file, or an override value the model
            rejects (``f"{path}: the model rejects kernel_size=9 (...)"``).
    """
    if name not in SPACE_NAMES:
        raise SpaceError(f"unknown search space {name!r}; known: {', '.join(SPACE_NAMES)}")
    space = _built_in(name)
    if not overrides_path:
        return space  # the built-in space is checked against the model by the tests
    space = load_space_overrides(overrides_path, space)
    # Lazy: the translators never need the model, and eeg.model imports Keras only inside build_model.
    from eeg.model import resolve_hparams

    if space.name == "pipeline":
        from search_spaces.pipeline import check_pipeline_value

        check_space_against_model(space, check_pipeline_value)
    else:
        check_space_against_model(space, resolve_hparams)
    return space


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
