"""Translate a :class:`~search_spaces.space.SearchSpace` into Keras Tuner hyperparameters.

Used inside a ``HyperModel.build(hp)`` (or a ``build_model(hp)`` function)::

    def build(hp):
        hparams = build_keras_tuner_hparams(hp, SPACE, defaults=DEFAULT_HPARAMS)
        return eeg.model.build_model(eeg.model.resolve_hparams(hparams), input_shape, n_classes)

Conditions become ``hp.conditional_scope(parent, values)``: Keras Tuner registers the
conditional parameter, its oracles only fill it in while the parent takes a switching
value, and the returned dict leaves it out otherwise (``resolve_hparams`` then uses the
default). Works with every oracle (RandomSearch, BayesianOptimization, Hyperband).

Keras Tuner is never imported here: ``hp`` brings its methods with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from search_spaces.space import Bool, Categorical, Float, Int, Param, SearchSpace, SpaceError

__all__ = ["build_keras_tuner_hparams"]


def build_keras_tuner_hparams(
    hp: Any, space: SearchSpace, defaults: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Register ``space`` on ``hp`` and return the current trial's values.

    Float -> ``hp.Float(sampling="linear"|"log")``; Int -> ``hp.Int(step=..., sampling=...)``;
    Bool (or a Categorical of both booleans) -> ``hp.Boolean``; a one-value boolean
    Categorical -> ``hp.Fixed``; other Categoricals -> ``hp.Choice``.

    Args:
        hp: A ``keras_tuner.HyperParameters``.
        space: The space to register.
        defaults: Optional starting values (``eeg.model.DEFAULT_HPARAMS``); one is used as the
            Keras Tuner default only where it lies inside the space, so the first trial of a
            Bayesian oracle starts from the hand-tuned model.

    Returns:
        ``name -> value`` for every parameter active in the current trial.

    Raises:
        SpaceError: A Categorical mixing value types (Keras Tuner's ``Choice`` takes one
            type), or a parameter kind Keras Tuner cannot express.
    """
    defaults = defaults or {}
    config: dict[str, Any] = {}
    for param in space:
        default = defaults.get(param.name)
        if default is not None and not param.contains(default):
            default = None
        with contextlib.ExitStack() as scopes:
            # Keras Tuner sees a parent only inside the parent's own conditions: enter the whole chain.
            for condition in _condition_chain(space, param):
                scopes.enter_context(hp.conditional_scope(condition.parent, list(condition.values)))
            value = _register(hp, param, default, space.where)
        if value is not None:  # None: inactive in this trial
            config[param.name] = value
    return config


def _condition_chain(space: SearchSpace, param: Param) -> list[Any]:
    """The conditions above ``param``, outermost first (``model_family``, then ``n_conv_blocks``)."""
    chain = []
    while param.when is not None:
        chain.append(param.when)
        param = space[param.when.parent]
    return chain[::-1]


def _register(hp: Any, param: Param, default: Any, where: str) -> Any:
    name = param.name
    if isinstance(param, Float):
        return hp.Float(name, param.low, param.high, sampling="log" if param.log else "linear", default=default)
    if isinstance(param, Int):
        # In log sampling Keras Tuner reads step as a factor; our log Ints have step 1, so pass none.
        step = None if param.log else param.step
        return hp.Int(name, param.low, param.high, step=step, sampling="log" if param.log else "linear",
                      default=default)
    if isinstance(param, (Categorical, Bool)):
        choices = list(param.choices)
        if all(isinstance(c, bool) for c in choices):
            # Choice would turn booleans into 0/1 (bool is an int); Boolean and Fixed keep them.
            if len(choices) == 1:
                return hp.Fixed(name, choices[0])
            return hp.Boolean(name, default=bool(default) if default is not None else False)
        kinds = {type(c).__name__ for c in choices}
        if len(kinds) > 1:
            raise SpaceError(f"{where}: Keras Tuner's Choice needs one value type, {name} mixes "
                             f"{', '.join(sorted(kinds))}: {choices!r}")
        return hp.Choice(name, choices, default=default)
    raise SpaceError(f"{where}: Keras Tuner cannot map parameter {getattr(param, 'name', param)!r} of kind "
                     f"{type(param).__name__}")
