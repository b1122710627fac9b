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

To record trials that another searcher ran into an Optuna study (so ``optuna.load_study``
and Optuna's plots work for every run), :func:`optuna_distributions` gives the matching
distributions for ``optuna.trial.create_trial(params=..., distributions=...)``.

Optuna is imported only by :func:`optuna_distributions`; the suggest functions use the
trial object's own methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from search_spaces.space import Bool, Categorical, Float, Int, Param, SearchSpace, SpaceError

__all__ = ["suggest_optuna", "optuna_define_by_run", "optuna_distributions"]


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


def optuna_distributions(space: SearchSpace, params: Mapping[str, Any]) -> dict[str, Any]:
    """Optuna distributions for the parameters a finished trial used.

    The same mapping :func:`suggest_optuna` uses: ``FloatDistribution(low, high, log=...)``,
    ``IntDistribution(low, high, step=..., log=...)``, ``CategoricalDistribution(choices)``.

    Args:
        space: The space the trial was drawn from.
        params: The trial's decoded config; keys outside ``space`` (epochs, paths) are skipped.

    Returns:
        ``name -> optuna distribution`` for every key of ``params`` that ``space`` knows.

    Raises:
        SpaceError: A parameter kind Optuna cannot express.
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    distributions: dict[str, Any] = {}
    for name in params:
        if name not in space:
            continue
        param = space[name]
        if isinstance(param, Float):
            distributions[name] = FloatDistribution(param.low, param.high, log=param.log)
        elif isinstance(param, Int):
            distributions[name] = IntDistribution(param.low, param.high, step=param.step, log=param.log)
        elif isinstance(param, (Categorical, Bool)):
            distributions[name] = CategoricalDistribution(list(param.choices))
        else:
            raise SpaceError(f"{space.where}: Optuna cannot map parameter {name!r} of kind {type(param).__name__}")
    return distributions


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
