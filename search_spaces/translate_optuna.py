"""Translate a :class:`~search_spaces.space.SearchSpace` into Optuna define-by-run calls.

Conditions are honoured: a conditional parameter is suggested only when its parent took a
switching value, so ``lstm_units`` never appears in ``trial.params`` of an LSTM-free trial
and the sampler (TPE, multivariate or not) never learns from values that did not matter.

Two ways in:

* native Optuna: ``study.optimize(lambda t: objective(suggest_optuna(t, SPACE)), ...)``;
* Ray Tune: ``OptunaSearch(space=optuna_define_by_run(SPACE), metric=..., mode=...)``.
  Ray calls the function with a wrapped ``optuna.Trial``, records each ``suggest_*`` value
  and merges the returned dict on top, so the trainable's ``config`` is exactly the dict
  returned here: plain Python values, inactive parameters absent (``resolve_hparams`` fills
  them from the defaults). Ray does not support ``points_to_evaluate`` with a
  define-by-run space.

Optuna itself is never imported here: the trial object brings its methods with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from search_spaces.space import Bool, Categorical, Float, Int, Param, SearchSpace, SpaceError

__all__ = ["suggest_optuna", "optuna_define_by_run"]


def suggest_optuna(trial: Any, space: SearchSpace) -> dict[str, Any]:
    """Suggest one config from ``space`` through ``trial``, skipping inactive parameters.

    Float -> ``trial.suggest_float(name, low, high, log=...)``; Int ->
    ``trial.suggest_int(name, low, high, step=..., log=...)``; Categorical and Bool ->
    ``trial.suggest_categorical(name, choices)``.

    Args:
        trial: An ``optuna.Trial`` (or Ray's wrapper around one).
        space: The space to draw from; parents come before their conditional children.

    Returns:
        ``name -> value`` for every parameter active in this trial.

    Raises:
        SpaceError: A parameter kind Optuna cannot express.
    """
    config: dict[str, Any] = {}
    for param in space:
        # Parents are suggested first, so the condition reads values already drawn.
        if param.when is not None and not space.is_active(param.name, config):
            continue
        config[param.name] = _suggest(trial, param, space.where)
    return config


def optuna_define_by_run(space: SearchSpace) -> Callable[[Any], dict[str, Any]]:
    """A one-argument define-by-run function over ``space`` for Ray's ``OptunaSearch(space=...)``.

    Args:
        space: The space to draw from.

    Returns:
        ``fn(trial) -> dict``, calling :func:`suggest_optuna`; picklable, so Ray can
        checkpoint the searcher.
    """
    return _DefineByRun(space)


class _DefineByRun:
    """A picklable closure (Ray checkpoints searchers with pickle; lambdas would not survive)."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def __call__(self, trial: Any) -> dict[str, Any]:
        return suggest_optuna(trial, self.space)

    def __repr__(self) -> str:
        return f"optuna_define_by_run({self.space.name!r})"


def _suggest(trial: Any, param: Param, where: str) -> Any:
    if isinstance(param, Float):
        return trial.suggest_float(param.name, param.low, param.high, log=param.log)
    if isinstance(param, Int):
        return trial.suggest_int(param.name, param.low, param.high, step=param.step, log=param.log)
    if isinstance(param, (Categorical, Bool)):
        return trial.suggest_categorical(param.name, list(param.choices))
    raise SpaceError(f"{where}: Optuna cannot map parameter {getattr(param, 'name', param)!r} of kind "
                     f"{type(param).__name__}")
