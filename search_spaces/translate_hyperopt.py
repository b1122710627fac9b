"""Translate a :class:`~search_spaces.space.SearchSpace` into a hyperopt space.

Choice made: **flat, every parameter always drawn** (no nested ``hp.choice`` for the
conditions). hyperopt's TPE models each label's density on its own, so an inactive
parameter only adds noise to its own density and never to another's; in exchange the
sample stays a flat dict whose keys are the model's hparam names, which Ray's results
table, ``best_hyperparameters.json`` and ``points_to_evaluate`` all need. The model ignores
inactive values. (Nested choices would hand the trainable ``{"use_lstm": {"use_lstm": True,
"lstm_units": 96}}`` and need labels made unique per branch.)

Integers are ``scope.int(hp.quniform(name, low - step/2, high + step/2, step))`` with the
ends pulled in a hair: every grid point, the ends included, gets the same probability
(plain ``quniform(low, high, step)`` halves the ends), and the label's value is the integer
itself, so Ray's ``points_to_evaluate`` line up. Categoricals are ``hp.choice``: a sample
holds the choice itself, but ``fmin``'s ``best`` holds its *index*; pass ``best`` through
``hyperopt.space_eval(space, best)`` before :func:`decode_hyperopt`.

Ray: ``HyperOptSearch(space=to_hyperopt_space(SPACE), metric=..., mode=...)`` takes this
dict as is; the trainable receives the evaluated sample (ints already ``int``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from search_spaces.space import Bool, Categorical, Float, Int, Param, SearchSpace, SpaceError, coerce_value

__all__ = ["to_hyperopt_space", "decode_hyperopt"]

# Pull the widened integer bounds in by this fraction of a step so rounding never leaves [low, high].
_EDGE = 0.4999


def to_hyperopt_space(space: SearchSpace) -> dict[str, Any]:
    """Map every parameter to a hyperopt expression labelled with its name.

    Float -> ``hp.uniform`` / ``hp.loguniform(name, ln low, ln high)``; Int ->
    ``scope.int(hp.quniform(...))`` or ``scope.int(hp.qloguniform(..., 1))`` for log;
    Categorical and Bool -> ``hp.choice``. Conditional parameters are included always.

    Args:
        space: The space to translate.

    Returns:
        A flat dict ``name -> hyperopt expression`` for ``fmin``,
        ``hyperopt.pyll.stochastic.sample`` or Ray's ``HyperOptSearch(space=...)``.

    Raises:
        SpaceError: A parameter kind hyperopt cannot express.
    """
    from hyperopt import hp
    from hyperopt.pyll import scope

    return {param.name: _expression(hp, scope, param, space.where) for param in space}


def decode_hyperopt(sample: Mapping[str, Any], space: SearchSpace) -> dict[str, Any]:
    """Make an evaluated hyperopt sample plain: Python scalars, ints on their grid.

    Keys outside ``space`` pass through unchanged. Idempotent.

    Args:
        sample: ``hyperopt.pyll.stochastic.sample(...)`` output, a Ray trial config, or
            ``hyperopt.space_eval(space, best)``.
        space: The space the sample came from.

    Raises:
        SpaceError: A value that cannot belong to its parameter.
    """
    return {
        key: coerce_value(space[key], value, space.where) if key in space else value
        for key, value in sample.items()
    }


def _expression(hp: Any, scope: Any, param: Param, where: str) -> Any:
    name = param.name
    if isinstance(param, Float):
        if param.log:
            return hp.loguniform(name, math.log(param.low), math.log(param.high))
        return hp.uniform(name, param.low, param.high)
    if isinstance(param, Int):
        if param.log:
            return scope.int(hp.qloguniform(name, math.log(param.low - _EDGE), math.log(param.high + _EDGE), 1))
        half = _EDGE * param.step
        return scope.int(hp.quniform(name, param.low - half, param.high + half, param.step))
    if isinstance(param, (Categorical, Bool)):
        return hp.choice(name, list(param.choices))
    raise SpaceError(f"{where}: hyperopt cannot map parameter {getattr(param, 'name', param)!r} of kind "
                     f"{type(param).__name__}")
