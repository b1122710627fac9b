"""Translate a :class:`~search_spaces.space.SearchSpace` into a ConfigSpace ``ConfigurationSpace``.

ConfigSpace is the space format of BOHB (``hpbandster``); Ray's ``TuneBOHB`` takes one as
its ``space``. The mapping:

=====================  ==================================================  ======================
parameter              hyperparameter                                      decoded as
=====================  ==================================================  ======================
Float                  ``UniformFloatHyperparameter(name, low, high, log)``  clipped float
Int, step 1            ``UniformIntegerHyperparameter(name, low, high,       int
                       log)``
Int, step > 1          ``UniformIntegerHyperparameter(name__grid, 0,         ``low + k * step``
                       n - 1)``: ``k`` indexes the ``n`` grid points
Categorical, Bool      ``CategoricalHyperparameter(name, choices)``          the same choice, as a
                                                                             plain Python value
=====================  ==================================================  ======================

Stepped integers get an index of their own (``__grid``) because ConfigSpace 1.x dropped
quantised integers and hpbandster's BOHB refuses ``OrdinalHyperparameter``; every grid
point then gets an equal share and a draw is always a point of the space. The encoded key
cannot be mistaken for a decoded one, so :func:`decode_configspace` is idempotent.

Conditions are honoured: a conditional parameter becomes an ``EqualsCondition`` (one
switching value) or ``InCondition`` (several) on its parent, so ConfigSpace and BOHB leave
it out of a config whose parent does not switch it on (``lstm_units`` is absent when
``use_lstm`` is ``False``) and BOHB's density model never learns from values that did not
matter. Switching values outside the parent's (possibly narrowed) domain can never hold and
are dropped; a parameter left with none can never be active and is left out, with the
parameters conditional on it.

Ray: ``TuneBOHB(space=to_configspace(space, seed), metric=..., mode=..., seed=seed)`` with
``HyperBandForBOHB`` as the scheduler. ConfigSpace hands back numpy scalars and the
``__grid`` indices, so the trainable starts with ``hparams = decode_configspace(config,
space)`` (or :func:`search_spaces.decode_config`, which includes it), and whatever reads
``result.config`` afterwards decodes it too.

ConfigSpace is imported only by :func:`to_configspace`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from search_spaces.space import Bool, Categorical, Float, Int, Param, SearchSpace, SpaceError, coerce_value

__all__ = ["to_configspace", "decode_configspace", "GRID_SUFFIX"]

GRID_SUFFIX = "__grid"


def to_configspace(space: SearchSpace, seed: int | None = None) -> Any:
    """A ``ConfigSpace.ConfigurationSpace`` over ``space``, conditions included.

    Args:
        space: The space to translate; parents come before their conditional children.
        seed: Seed of the ConfigurationSpace's own sampler (``sample_configuration``).

    Returns:
        A ``ConfigurationSpace`` named after the space, one hyperparameter per parameter
        that can ever be active (see the module table for names and encodings).

    Raises:
        SpaceError: A parameter kind ConfigSpace cannot express, or categorical choices
            ConfigSpace cannot tell apart (it compares choices with ``==``, so ``True`` and
            ``1`` are one choice to it).
    """
    from ConfigSpace import ConfigurationSpace, EqualsCondition, InCondition

    configspace = ConfigurationSpace(name=space.name, seed=seed)
    hyperparameters: dict[str, Any] = {}
    conditions = []
    for param in space:
        parent_hp = None
        values: list[Any] = []
        if param.when is not None:
            parent_hp = hyperparameters.get(param.when.parent)
            parent = space[param.when.parent]
            values = [_encoded_value(parent, v) for v in param.when.values if parent.contains(v)]
            if parent_hp is None or not values:
                continue  # the parent never switches it on (narrowed away, or itself never active)
        hyperparameter = _hyperparameter(param, space.where)
        hyperparameters[param.name] = hyperparameter
        configspace.add(hyperparameter)
        if parent_hp is not None:
            if len(values) == 1:
                conditions.append(EqualsCondition(hyperparameter, parent_hp, values[0]))
            else:
                conditions.append(InCondition(hyperparameter, parent_hp, values))
    if conditions:
        configspace.add(conditions)
    return configspace


def decode_configspace(config: Mapping[str, Any], space: SearchSpace) -> dict[str, Any]:
    """Map a ConfigSpace / TuneBOHB config (or an already-decoded one) to plain model hparams.

    ``name__grid`` indices become their grid value; a plain key of the space is coerced onto
    its domain (numpy scalars made Python, Floats clipped for round-off); keys outside the
    space pass through. Idempotent.

    Args:
        config: A ConfigSpace ``Configuration`` (or its dict), a Ray trial config, or a
            decoded config.
        space: The space ``to_configspace`` was given.

    Returns:
        ``name -> value`` with plain Python values.

    Raises:
        SpaceError: A parameter appears both encoded and plain, a grid index is not a whole
            number inside the grid, or a value cannot belong to its parameter.
    """
    decoded: dict[str, Any] = {}
    encoded_from: dict[str, str] = {}
    for key, value in dict(config).items():
        name = key[: -len(GRID_SUFFIX)] if key.endswith(GRID_SUFFIX) and key[: -len(GRID_SUFFIX)] in space else key
        encoded = name != key
        if name in decoded and (name in encoded_from or encoded):
            raise SpaceError(f"{space.where}: {name} is given twice ({encoded_from.get(name, name)!r} and {key!r})")
        if not encoded:
            decoded[name] = coerce_value(space[name], value, space.where) if name in space else value
            continue
        encoded_from[name] = key
        decoded[name] = _decode_grid_index(space[name], key, value, space.where)
    return decoded


def _is_stepped(param: Param) -> bool:
    return isinstance(param, Int) and param.step != 1


def _hyperparameter(param: Param, where: str) -> Any:
    from ConfigSpace import CategoricalHyperparameter, UniformFloatHyperparameter, UniformIntegerHyperparameter

    if isinstance(param, Float):
        return UniformFloatHyperparameter(param.name, lower=float(param.low), upper=float(param.high), log=param.log)
    if isinstance(param, Int):
        if _is_stepped(param):  # Int.check: log needs step 1, so a stepped Int is never log
            return UniformIntegerHyperparameter(param.name + GRID_SUFFIX, lower=0, upper=len(param.grid) - 1)
        return UniformIntegerHyperparameter(param.name, lower=param.low, upper=param.high, log=param.log)
    if isinstance(param, (Categorical, Bool)):
        choices = list(param.choices)
        for i, a in enumerate(choices):
            for b in choices[i + 1 :]:
                if a == b:
                    raise SpaceError(
                        f"{where}: ConfigSpace compares categorical choices with ==, so {param.name}'s "
                        f"choices {a!r} and {b!r} would be one choice; got {choices!r}"
                    )
        return CategoricalHyperparameter(param.name, choices=choices)
    raise SpaceError(f"{where}: ConfigSpace cannot map parameter {getattr(param, 'name', param)!r} "
                     f"of kind {type(param).__name__}")


def _encoded_value(parent: Param, value: Any) -> Any:
    """A parent's switching value as its hyperparameter holds it (a grid index for stepped Ints)."""
    # Other parents hold the value itself (their choices are ==-distinct, checked when mapped).
    return parent.grid.index(value) if _is_stepped(parent) else value


def _decode_grid_index(param: Param, key: str, value: Any, where: str) -> int:
    if not _is_stepped(param):
        raise SpaceError(f"{where}: {key} does not match {type(param).__name__} {param.name} (not a stepped Int)")
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value != round(value):
        raise SpaceError(f"{where}: {key} needs a whole-number grid index, got {value!r}")
    grid = param.grid
    index = int(round(value))
    if not 0 <= index < len(grid):
        raise SpaceError(f"{where}: {key}={index} is outside the {len(grid)} grid points of {param.name} "
                         f"(Int[{param.low}, {param.high}] step {param.step})")
    return grid[index]
