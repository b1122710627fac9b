"""Translate a :class:`~search_spaces.space.SearchSpace` into bayesian-optimization bounds.

bayesian-optimization's Gaussian process searches a box of real numbers, so every
parameter becomes one continuous coordinate and :func:`decode_bayesopt` maps a point of the
box back onto the space, searching the same space as the other backends:

=====================  ============================  ==========================================
parameter              coordinate and bounds         decoded as
=====================  ============================  ==========================================
Float                  ``name`` in [low, high]       clipped float
Float, log             ``name__log10`` in log10 box  ``10 ** x``, clipped
Int                    ``name`` in [low - step/2,    nearest grid point (every point gets an
                       high + step/2]                equal share of the box)
Int, log               ``name__log10``               ``10 ** x`` rounded to an int
Categorical, Bool      ``name__index`` in [0, n]     ``choices[min(floor(x), n - 1)]``
=====================  ============================  ==========================================

Encoded coordinates get their own key (``__log10``, ``__index``) so a decoded value can
never be mistaken for an encoded one: decoding is idempotent, and a config from any other
searcher passes through unchanged. Conditional parameters are always in the box; the model
ignores inactive ones.

Ray: ``BayesOptSearch(space=to_bayesopt_bounds(SPACE), metric=..., mode=...)``. Ray hands the
raw coordinates to the trainable as its ``config`` (and records them as the trial's config),
so the trainable must start with ``hparams = decode_bayesopt(config, space)`` (or
:func:`search_spaces.decode_config`, the same call, safe for every searcher), and whatever
reads ``result.config`` afterwards (best config, trials table) must decode it too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from search_spaces.space import Bool, Categorical, Float, Int, Param, SearchSpace, SpaceError, coerce_value

__all__ = ["to_bayesopt_bounds", "decode_bayesopt", "LOG_SUFFIX", "INDEX_SUFFIX"]

LOG_SUFFIX = "__log10"
INDEX_SUFFIX = "__index"
# Keep widened integer boxes a hair inside the half-step so rounding never leaves [low, high].
_EDGE = 0.4999


def to_bayesopt_bounds(space: SearchSpace) -> dict[str, tuple[float, float]]:
    """Continuous bounds for ``BayesianOptimization(pbounds=...)`` / ``BayesOptSearch(space=...)``.

    Args:
        space: The space to translate.

    Returns:
        ``coordinate name -> (low, high)``, one coordinate per parameter (see the module
        table for names and encodings).

    Raises:
        SpaceError: A parameter kind that cannot be encoded.
    """
    bounds: dict[str, tuple[float, float]] = {}
    for param in space:
        key, box = _encode(param, space.where)
        bounds[key] = box
    return bounds


def decode_bayesopt(point: Mapping[str, Any], space: SearchSpace) -> dict[str, Any]:
    """Map a point of the bounds box (or an already-decoded config) to plain model hparams.

    Encoded coordinates (``name__log10``, ``name__index``) are decoded; a plain key of the
    space is coerced onto its domain (linear Floats clipped, Ints rounded onto the grid,
    numpy scalars made Python); keys outside the space pass through. Idempotent.

    Args:
        point: A bayesian-optimization point, a Ray trial config, or a decoded config.
        space: The space ``to_bayesopt_bounds`` was given.

    Returns:
        ``name -> value`` with plain Python values.

    Raises:
        SpaceError: A parameter appears both encoded and plain, or a value cannot belong
            to its parameter.
    """
    decoded: dict[str, Any] = {}
    encoded_from: dict[str, str] = {}
    for key, value in point.items():
        name, kind = _split(key, space)
        if name in decoded and (name in encoded_from or kind is not None):
            raise SpaceError(
                f"{space.where}: {name} is given twice ({encoded_from.get(name, name)!r} and {key!r})"
            )
        if kind is None:
            decoded[name] = coerce_value(space[name], value, space.where) if name in space else value
            continue
        encoded_from[name] = key
        decoded[name] = _decode(space[name], kind, value, space.where)
    return decoded


def _split(key: str, space: SearchSpace) -> tuple[str, str | None]:
    for suffix in (LOG_SUFFIX, INDEX_SUFFIX):
        if key.endswith(suffix) and key[: -len(suffix)] in space:
            return key[: -len(suffix)], suffix
    return key, None


def _encode(param: Param, where: str) -> tuple[str, tuple[float, float]]:
    if isinstance(param, Float):
        if param.log:
            return param.name + LOG_SUFFIX, (math.log10(param.low), math.log10(param.high))
        return param.name, (float(param.low), float(param.high))
    if isinstance(param, Int):
        if param.log:
            return param.name + LOG_SUFFIX, (math.log10(param.low - _EDGE), math.log10(param.high + _EDGE))
        half = _EDGE * param.step
        return param.name, (param.low - half, param.high + half)
    if isinstance(param, (Categorical, Bool)):
        return param.name + INDEX_SUFFIX, (0.0, float(len(param.choices)))
    raise SpaceError(f"{where}: bayesian-optimization cannot map parameter {getattr(param, 'name', param)!r} "
                     f"of kind {type(param).__name__}")


def _decode(param: Param, kind: str, value: Any, where: str) -> Any:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise SpaceError(f"{where}: {param.name}{kind} needs a number, got {value!r}") from None
    if not math.isfinite(x):
        raise SpaceError(f"{where}: {param.name}{kind} needs a finite number, got {value!r}")
    if kind == LOG_SUFFIX and isinstance(param, (Float, Int)) and param.log:
        return coerce_value(param, 10.0**x, where)
    if kind == INDEX_SUFFIX and isinstance(param, (Categorical, Bool)):
        index = min(max(math.floor(x), 0), len(param.choices) - 1)
        return param.choices[index]
    raise SpaceError(f"{where}: {param.name}{kind} does not match {type(param).__name__} {param.name}")
