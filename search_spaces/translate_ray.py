"""Translate a :class:`~search_spaces.space.SearchSpace` into Ray Tune's ``param_space``.

``to_ray_param_space`` feeds ``Tuner(param_space=...)`` for the random searcher
(``BasicVariantGenerator``) and for the searchers Ray converts itself (``HyperOptSearch``,
``OptunaSearch`` given no ``space``). Ray's domains have no conditions, so conditional
parameters are drawn on every trial; the model ignores the inactive ones (the contract's
``resolve_hparams`` accepts them), so this costs search efficiency, never correctness. For
a truly conditional search use :func:`search_spaces.translate_optuna.optuna_define_by_run`.

``to_ray_grid`` builds the small ``tune.grid_search`` behind ``--searcher grid``.

Ray is imported inside the functions so that importing :mod:`search_spaces` stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from search_spaces.space import Bool, Categorical, Float, Int, Param, SearchSpace, SpaceError

__all__ = ["to_ray_param_space", "to_ray_grid", "DEFAULT_GRID_AXES"]

# The three knobs that move accuracy most in the guide's table: step size, depth, LSTM on/off.
DEFAULT_GRID_AXES: tuple[str, ...] = ("learning_rate", "n_conv_blocks", "use_lstm")


def to_ray_param_space(space: SearchSpace) -> dict[str, Any]:
    """Map every parameter to a ``ray.tune`` domain.

    Float -> ``tune.uniform`` / ``tune.loguniform``; Int -> ``tune.qrandint(low, high, step)``
    (both ends inclusive), ``tune.randint(low, high + 1)`` for step 1 or
    ``tune.lograndint(low, high + 1)`` for log; Categorical -> ``tune.choice``; Bool ->
    ``tune.choice([False, True])``. Conditional parameters are included unconditionally.

    Args:
        space: The space to translate.

    Returns:
        A flat dict ``name -> Domain`` for ``Tuner(param_space=...)``; merge any constants
        (epochs, data paths) into it before passing it on.

    Raises:
        SpaceError: A parameter kind Ray cannot express.
    """
    from ray import tune

    return {param.name: _domain(tune, param, space.where) for param in space}


def to_ray_grid(
    space: SearchSpace,
    defaults: Mapping[str, Any] | None = None,
    *,
    axes: Sequence[str] = DEFAULT_GRID_AXES,
    points_per_axis: int = 3,
) -> dict[str, Any]:
    """A small full-factorial grid over a few axes, every other parameter held fixed.

    Each axis gets at most ``points_per_axis`` values: log-spaced (3 significant digits)
    for a log Float, evenly spaced otherwise, evenly spaced grid points for an Int, every
    choice for a Categorical or Bool. With the defaults that is 3 x 3 x 2 = 18 trials.

    Args:
        space: The space the axes come from.
        defaults: Values for the parameters that are not axes (pass
            ``eeg.model.DEFAULT_HPARAMS``); keys outside ``space`` are ignored. Without it the
            non-axis parameters are left out and the model's own defaults apply.
        axes: Names of the parameters to sweep.
        points_per_axis: Values per numeric axis, at least 2.

    Returns:
        ``name -> tune.grid_search([...])`` for the axes plus ``name -> constant`` for the rest.

    Raises:
        SpaceError: An axis is unknown or repeated, or ``points_per_axis`` < 2.
    """
    from ray import tune

    if isinstance(points_per_axis, bool) or not isinstance(points_per_axis, int) or points_per_axis < 2:
        raise SpaceError(f"{space.where}: grid needs points_per_axis >= 2, got {points_per_axis!r}")
    if not axes:
        raise SpaceError(f"{space.where}: grid needs at least one axis")
    for name in axes:
        if name not in space:
            raise SpaceError(
                f"{space.where}: grid axis {name!r} is not a parameter; valid names: {', '.join(space.names)}"
            )
    if len(set(axes)) != len(axes):
        raise SpaceError(f"{space.where}: grid axes repeat a name, got {list(axes)!r}")

    grid: dict[str, Any] = {}
    for name, value in (defaults or {}).items():
        if name in space and name not in axes:
            grid[name] = value
    for name in axes:
        grid[name] = tune.grid_search(_axis_values(space[name], points_per_axis))
    return grid


def _domain(tune: Any, param: Param, where: str) -> Any:
    if isinstance(param, Float):
        return tune.loguniform(param.low, param.high) if param.log else tune.uniform(param.low, param.high)
    if isinstance(param, Int):
        if param.log:
            return tune.lograndint(param.low, param.high + 1)  # upper bound exclusive
        if param.step == 1:
            return tune.randint(param.low, param.high + 1)  # upper bound exclusive
        return tune.qrandint(param.low, param.high, param.step)  # multiples of step, both ends inclusive
    if isinstance(param, (Categorical, Bool)):
        return tune.choice(list(param.choices))
    raise SpaceError(f"{where}: Ray Tune cannot map parameter {getattr(param, 'name', param)!r} of kind "
                     f"{type(param).__name__}")


def _axis_values(param: Param, n: int) -> list[Any]:
    if isinstance(param, (Categorical, Bool)):
        return list(param.choices)
    if isinstance(param, Int):
        values = param.grid
        if len(values) <= n:
            return values
        picks = np.unique(np.round(np.linspace(0, len(values) - 1, n)).astype(int))
        return [values[i] for i in picks]
    if isinstance(param, Float):
        raw = np.geomspace(param.low, param.high, n) if param.log else np.linspace(param.low, param.high, n)
        # Readable values for the trials table; clipping keeps rounded ends inside the range.
        return [min(max(float(f"{v:.3g}"), param.low), param.high) for v in raw]
    raise SpaceError(f"grid cannot sweep parameter {param!r}")
