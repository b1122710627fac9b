"""The experiment's output files, for every method: trials table, Optuna studies, best_hyperparameters.json, summary.

Nothing here prints (the run lifecycle in :mod:`engines.tune.run` says where things are), nothing is fitted
or computed beyond formatting (the summary and its baselines come from :mod:`engines.tune.summary`), and
everything is written atomically (:mod:`engines.experiment.files`).
"""

from __future__ import annotations

import datetime as _dt
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from engines.experiment.files import UnreadableJSON, read_json, write_json_atomic
from engines.experiment.layout import ExperimentPaths
from engines.experiment.records import OPTUNA_STATES, TrialRecord
from engines.experiment.settings import Settings
from engines.experiment.trials_table import write_trials_table
from engines.tune.optuna_bulk import add_trials_at_once

__all__ = [
    "best_hyperparameters_document",
    "write_best_hyperparameters",
    "is_smoke_test",
    "holds_real_result",
    "write_optuna_study",
    "write_experiment_outputs",
    "ExperimentOutputs",
]

def best_hyperparameters_document(hparams: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The guide's schema: ``{"hyperparameters": {...}, "metadata": {...}}`` with a timestamp."""
    meta = {"timestamp": _dt.datetime.now().replace(microsecond=0).isoformat()}
    meta.update(metadata)
    return {"hyperparameters": dict(hparams), "metadata": meta}


def write_best_hyperparameters(output_dir: Path, experiment_dir: Path | None, document: Mapping[str, Any],
                               *, finished: bool = True) -> Path:
    """The experiment's own ``best_hyperparameters.json``, and ``<output_dir>/best_hyperparameters.json`` (what
    users open and ``train`` reads) only when the experiment finished and would not replace a real run's result
    with a smoke test's: an interrupted search's best so far, or a ``--smoke-test`` on tiny data, never replaces
    a finished full run's. Returns the file the user should open."""
    target = Path(output_dir) / "best_hyperparameters.json"
    if experiment_dir is not None:
        own = Path(experiment_dir) / "best_hyperparameters.json"
        write_json_atomic(own, document)
        if not finished or (is_smoke_test(document) and holds_real_result(target)):
            return own
    write_json_atomic(target, document)
    return target


def is_smoke_test(document: Mapping[str, Any]) -> bool:
    """Whether a best_hyperparameters document came from a ``--smoke-test`` run (tiny data, few trials)."""
    return bool((document.get("metadata") or {}).get("smoke_test"))


def holds_real_result(path: Path) -> bool:
    """Whether ``path`` is a best_hyperparameters.json of a full (not smoke-test) run; unreadable counts as real,
    so nothing a user may still want is replaced."""
    if not path.is_file():
        return False
    try:
        document = read_json(path, strict=True)
    except UnreadableJSON:
        return True
    return not (isinstance(document, dict) and is_smoke_test(document))


def _fits(distribution: Any, value: Any) -> bool:
    try:
        return bool(distribution._contains(distribution.to_internal_repr(value)))
    except (ValueError, TypeError):
        return False


def _frozen_trial(record: TrialRecord, space: Any) -> Any:
    """``record`` as an Optuna ``FrozenTrial`` over the space's distributions (a diverged or failed trial has no value)."""
    import optuna

    from search_spaces.translate_optuna import optuna_distributions

    given = {k: v for k, v in record.params.items() if v is not None}
    distributions = optuna_distributions(space, given)
    # A value outside its distribution was held fixed, not searched (a grid's non-axis knobs at
    # the model default, e.g. l2=0.0 under a log range): keep it as an attribute, not a param.
    fixed = {k: v for k, v in given.items() if k in distributions and not _fits(distributions[k], v)}
    params = {k: v for k, v in given.items() if k in distributions and k not in fixed}
    state = getattr(optuna.trial.TrialState, OPTUNA_STATES[record.status])
    value = record.best_val_accuracy if state == optuna.trial.TrialState.COMPLETE else None
    if state == optuna.trial.TrialState.COMPLETE and (value is None or not math.isfinite(value)):
        state, value = optuna.trial.TrialState.FAIL, None
    user_attrs = {"trial_id": record.trial_id, "status": record.status, "epochs": record.epochs,
                  "node_id": record.node_id, "wall_time_s": record.wall_time_s, "failure_reason": record.failure_reason,
                  **{f"fixed_{k}": v for k, v in fixed.items()}}
    return optuna.trial.create_trial(
        params=params,
        distributions={k: distributions[k] for k in params},
        value=value,
        state=state,
        intermediate_values={i + 1: v for i, v in enumerate(record.val_accuracy_history) if math.isfinite(v)},
        user_attrs={k: v for k, v in user_attrs.items() if v is not None},
    )


def write_optuna_study(
    records: Iterable[TrialRecord],
    storage_url: str,
    study_names: Sequence[str],
    space: Any,
) -> None:
    """Write the trials into Optuna studies so ``optuna.load_study`` and its plots work on any method's run.

    Each name in ``study_names`` is replaced by this run's trials: the guide's fixed name
    always shows the latest run, and a per-experiment name keeps every run.

    Args:
        records: the trials.
        storage_url: an Optuna RDB URL.
        study_names: studies to (re)write.
        space: the search space the trials came from (their Optuna distributions).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    Path(storage_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    frozen = [_frozen_trial(record, space) for record in records]
    # Parallel workers share the SQLite file: wait for its write lock rather than fail at once.
    storage = optuna.storages.RDBStorage(storage_url, engine_kwargs={"connect_args": {"timeout": 60}})
    for name in study_names:
        try:
            optuna.delete_study(study_name=name, storage=storage)
        except KeyError:
            pass  # first run with this name
        study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(["val_accuracy"])  # the dashboard's axis, not "Objective 0"
        add_trials_at_once(study, storage, frozen)


@dataclass(frozen=True)
class ExperimentOutputs:
    """What :func:`write_experiment_outputs` wrote."""

    summary: dict[str, Any]
    best_file: Path | None
    trials_table: Path
    kept_real: Path | None = None  # the full run's best_hyperparameters.json a smoke test left as it was


def write_experiment_outputs(
    records: Sequence[TrialRecord],
    summary: Mapping[str, Any],
    settings: Settings,
    paths: ExperimentPaths,
    space: Any,
    *,
    data_description: str,
    study_names: Sequence[str],
    metadata: Mapping[str, Any],
) -> ExperimentOutputs:
    """Trials table, Optuna studies, best_hyperparameters.json and summary.json, the same for every method.

    Args:
        records: one record per trial of the experiment.
        summary: from :func:`engines.tune.summary.summarise`, with the validation context and the metadata.
        settings: the run's settings.
        paths: the experiment's files.
        space: the search space the trials came from.
        data_description: what the data was (``ExperimentData.description``).
        study_names: Optuna studies to rewrite from ``records``.
        metadata: what the backend adds to best_hyperparameters.json and summary.json
            (``method``, ``searcher``, ``scheduler`` and its own keys).
    """
    parquet, _ = write_trials_table(records, paths.local)
    write_optuna_study(records, paths.optuna_url, study_names, space)
    best_file = None
    if summary["best_trial"] is not None:
        document = best_hyperparameters_document(summary["best_params"], _best_metadata(summary, settings, paths,
                                                                                        data_description, metadata))
        best_file = write_best_hyperparameters(paths.output_dir, paths.local, document, finished=summary["finished"])
    if summary.get("pareto_front"):
        _write_pareto_front(records, summary, paths, best_file)
    write_json_atomic(paths.summary_file, summary)
    shared = Path(paths.output_dir) / "best_hyperparameters.json"
    kept_real = shared if best_file is not None and summary["finished"] and best_file != shared else None
    return ExperimentOutputs(summary=dict(summary), best_file=best_file, trials_table=parquet, kept_real=kept_real)


def _write_pareto_front(records: Sequence[TrialRecord], summary: Mapping[str, Any], paths: ExperimentPaths,
                        best_file: Path | None) -> None:
    """``pareto_front.json`` in the experiment, and beside the ``best_hyperparameters.json`` it explains."""
    from engines.tune.pareto import front_document

    by_id = {r.trial_id: r for r in records}
    front = [by_id[t] for t in summary["pareto_front"] if t in by_id]
    document = front_document(front, by_id.get(summary["best_trial"]))
    write_json_atomic(paths.local / "pareto_front.json", document)
    if best_file is not None and best_file.parent != paths.local:
        write_json_atomic(best_file.parent / "pareto_front.json", document)


def _cv_metadata(summary: Mapping[str, Any]) -> dict[str, Any]:
    """With --cv K: K, the selected trial's fold mean (= best_score), its standard deviation and each fold's score."""
    if not summary.get("cv_folds"):
        return {}
    std = summary.get("best_val_accuracy_std")
    return {"cv_folds": summary["cv_folds"], "cv_mean": round(summary["best_val_accuracy"], 4),
            "cv_std": round(std, 4) if std is not None else None,
            "cv_fold_scores": [round(v, 4) for v in summary.get("best_fold_val_accuracy") or []]}


def _best_metadata(summary: Mapping[str, Any], settings: Settings, paths: ExperimentPaths, data_description: str,
                   metadata: Mapping[str, Any]) -> dict[str, Any]:
    """best_hyperparameters.json's ``metadata``: the guide's keys, then what a reader needs to trust the score."""
    return {
        "best_score": round(summary["best_val_accuracy"], 4),
        "metric": "val_accuracy",
        "val_majority_baseline": round(summary["val_majority_baseline"], 4),
        "chance": round(summary["chance"], 4),
        "val_baselines": {b["name"]: round(b["val_accuracy"], 4) for b in summary["val_baselines"]},
        **{k: metadata[k] for k in ("method", "searcher", "scheduler")},
        "trials": summary["trials"],
        "max_epochs": settings.max_epochs,
        "seed": settings.seed,
        "smoke_test": settings.smoke_test,
        "data": data_description,
        "split": settings.split,
        "split_seed": settings.split_seed,
        **_cv_metadata(summary),
        **({"objective": summary["objective"], "latency_ms": summary["best_latency_ms"],
            "pareto_front": "pareto_front.json"} if summary.get("pareto_front") else {}),
        "experiment": str(paths.local),
        "experiment_name": paths.name,
        "experiment_finished": bool(summary["finished"]),
        **{k: v for k, v in metadata.items() if k not in ("method", "searcher", "scheduler")},
    }
