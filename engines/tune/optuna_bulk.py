"""Finished trials into an Optuna RDB study in one transaction.

``study.add_trials`` on an ``RDBStorage`` writes one trial at a time, each in its own transaction with a
lookup and a distribution check per parameter and per intermediate value: about 16 ms a trial on
SQLite, 16 s of driver time at 1,000 trials per study written (``benchmarks/bench_scale.py``). The
trials written here are already validated ``FrozenTrial`` objects from ``optuna.trial.create_trial``
with one search space, so those checks cannot fail; the rows Optuna would insert are built with
Optuna's own table models and value encodings and inserted together. ``optuna.load_study`` reads
them back equal to what ``add_trials`` writes (``tests/engines/tune/test_optuna_bulk.py``). If the
installed Optuna has moved its table models, this falls back to ``add_trials``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["add_trials_at_once"]


def add_trials_at_once(study: Any, storage: Any, trials: Sequence[Any]) -> None:
    """Add ``trials`` (finished ``FrozenTrial`` objects) to ``study``, new and empty, on ``storage`` (an ``RDBStorage``)."""
    try:
        from optuna.distributions import distribution_to_json
        from optuna.storages._rdb import models
    except ImportError:
        study.add_trials(trials)
        return
    study_id = storage.get_study_id_from_name(study.study_name)
    rows = [_trial_row(models, distribution_to_json, study_id, number, trial) for number, trial in enumerate(trials)]
    session = storage.scoped_session()
    try:
        session.add_all(rows)
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def _trial_row(models: Any, distribution_to_json: Any, study_id: int, number: int, trial: Any) -> Any:
    """The ``trials`` row of one trial with its params, value, attributes and intermediate values attached."""
    row = models.TrialModel(number=number, study_id=study_id, state=trial.state)
    row.datetime_start = trial.datetime_start
    row.datetime_complete = trial.datetime_complete
    row.params = [
        models.TrialParamModel(param_name=name, param_value=trial.distributions[name].to_internal_repr(value),
                               distribution_json=distribution_to_json(trial.distributions[name]))
        for name, value in trial.params.items()
    ]
    if trial.values is not None:
        row.values = []
        for objective, value in enumerate(trial.values):
            stored, value_type = models.TrialValueModel.value_to_stored_repr(value)
            row.values.append(models.TrialValueModel(objective=objective, value=stored, value_type=value_type))
    row.user_attributes = [models.TrialUserAttributeModel(key=key, value_json=json.dumps(value))
                           for key, value in trial.user_attrs.items()]
    row.system_attributes = [models.TrialSystemAttributeModel(key=key, value_json=json.dumps(value))
                             for key, value in trial.system_attrs.items()]
    row.intermediate_values = []
    for step, value in trial.intermediate_values.items():
        stored, value_type = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(value)
        row.intermediate_values.append(models.TrialIntermediateValueModel(
            step=step, intermediate_value=stored, intermediate_value_type=value_type))
    return row
