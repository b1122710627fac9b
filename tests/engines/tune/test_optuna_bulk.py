"""The Optuna study written in one transaction reads back as Optuna's own add_trials writes it, trial by trial."""

from __future__ import annotations

import optuna

from engines.experiment.records import TrialRecord
from engines.tune.optuna_bulk import add_trials_at_once
from engines.tune.outputs import _frozen_trial, write_optuna_study
from search_spaces import get_space


def _records() -> list[TrialRecord]:
    """Every status, every kind of distribution (log float, int, categorical of numbers, strings and bools)."""
    statuses = ["complete", "stopped_early", "failed", "complete", "stopped_early", "complete"]
    records = []
    for i, status in enumerate(statuses):
        history = [] if status == "failed" else [0.2 + 0.05 * i + 0.01 * e for e in range(1 + i)]
        params = {"learning_rate": 10 ** (-4 + i / 3), "batch_size": (16, 32, 64)[i % 3],
                  "optimizer": ("adam", "adamw", "rmsprop")[i % 3], "n_conv_blocks": 1 + i % 3,
                  "cnn_filters_0": 32 + 16 * i, "kernel_size": (3, 5, 7)[i % 3], "pooling": ("max", "avg")[i % 2],
                  "cnn_dropout": 0.05 * i, "use_lstm": bool(i % 2), "n_dense_layers": 1, "dense_units_0": 64,
                  "dense_dropout_0": 0.1, "l2": 1e-5 * (i + 1) if i != 4 else 0.0}  # 0.0: held fixed, an attribute
        records.append(TrialRecord(trial_id=f"t{i}", params=params, status=status,
                                   best_val_accuracy=max(history) if history else None, val_accuracy_history=history,
                                   epochs=len(history), wall_time_s=1.5 * (i + 1), node_id=f"node{i % 2}",
                                   failure_reason="worker died" if status == "failed" else None))
    return records


def _comparable(trial: optuna.trial.FrozenTrial) -> dict:
    return {"number": trial.number, "state": trial.state, "values": trial.values, "params": trial.params,
            "distributions": trial.distributions, "user_attrs": trial.user_attrs,
            "system_attrs": trial.system_attrs, "intermediate_values": trial.intermediate_values,
            "datetime_start": trial.datetime_start, "datetime_complete": trial.datetime_complete}


def test_one_transaction_reads_back_equal_to_optunas_add_trials(tmp_path):
    frozen = [_frozen_trial(record, get_space()) for record in _records()]
    studies = {}
    for way in ("add_trials", "at_once"):
        storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / way}.db")
        study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
        if way == "add_trials":
            study.add_trials(frozen)
        else:
            add_trials_at_once(study, storage, frozen)
        studies[way] = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / way}.db")
    expected = [_comparable(t) for t in studies["add_trials"].trials]
    got = [_comparable(t) for t in studies["at_once"].trials]
    assert len(got) == len(frozen) == 6
    assert got == expected
    # A stopped-early trial is COMPLETE with its best value (records.OPTUNA_STATES); a failed one has none.
    assert [t.state.name for t in studies["at_once"].trials] == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE",
                                                                 "COMPLETE", "COMPLETE"]
    assert studies["at_once"].trials[4].params.get("l2") is None and "fixed_l2" in studies["at_once"].trials[4].user_attrs
    assert studies["at_once"].best_trial.number == studies["add_trials"].best_trial.number
    # Optuna's own samplers read the study: TPE suggests from these trials without an error.
    sampler_study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'at_once'}.db",
                                      sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=2))
    sampler_study.ask({"learning_rate": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True)})


def test_a_rewritten_study_holds_only_the_latest_run_under_its_metric_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    records = _records()
    write_optuna_study(records, url, ["fixed", "fixed:first"], get_space())
    write_optuna_study(records[:3], url, ["fixed", "fixed:second"], get_space())
    assert len(optuna.load_study(study_name="fixed", storage=url).trials) == 3
    assert len(optuna.load_study(study_name="fixed:first", storage=url).trials) == 6
    assert [t.number for t in optuna.load_study(study_name="fixed:second", storage=url).trials] == [0, 1, 2]
    assert optuna.load_study(study_name="fixed", storage=url).metric_names == ["val_accuracy"]

