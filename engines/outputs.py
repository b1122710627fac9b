"""The experiment's output files, for every method: trials table, Optuna studies, best_hyperparameters.json, summary.

Nothing here prints (the run lifecycle in :mod:`engines.tune` says where things are).
Everything is written atomically (a temporary file in the same folder, then
``os.replace``), so an interrupted run never leaves half a file and a bad run never
clobbers a good earlier result.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from engines.layout import STUDY_NAME, ExperimentPaths
from engines.records import TrialRecord
from engines.settings import Settings

__all__ = [
    "write_json_atomic",
    "replace_atomically",
    "best_hyperparameters_document",
    "write_best_hyperparameters",
    "write_trials_table",
    "write_optuna_study",
    "read_trials_table",
    "write_experiment_outputs",
    "validation_context",
    "ExperimentOutputs",
]

def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _file_mode(path: Path) -> int:
    """The mode a plain write would give: the existing file's, else 0o666 less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def replace_atomically(path: Path, write: Any, suffix: str) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place.

    A crash leaves the old file (or none), never half a file; the result keeps the
    permissions a plain write would have (mkstemp's 0600 would hide shared results).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, document: Any) -> None:
    """Write ``document`` as indented JSON to ``path`` atomically."""
    text = json.dumps(document, indent=2, default=_json_default) + "\n"
    replace_atomically(Path(path), lambda tmp: tmp.write_text(text), ".tmp")


def best_hyperparameters_document(hparams: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The guide's schema: ``{"hyperparameters": {...}, "metadata": {...}}`` with a timestamp."""
    meta = {"timestamp": _dt.datetime.now().replace(microsecond=0).isoformat()}
    meta.update(metadata)
    return {"hyperparameters": dict(hparams), "metadata": meta}


def write_best_hyperparameters(output_dir: Path, experiment_dir: Path | None, document: Mapping[str, Any],
                               *, finished: bool = True) -> Path:
    """The experiment's own ``best_hyperparameters.json``, and ``<output_dir>/best_hyperparameters.json`` (what
    users open and ``train`` reads) only when the experiment finished: an interrupted search's best so far never
    replaces a finished one's. Returns the file the user should open."""
    target = Path(output_dir) / "best_hyperparameters.json"
    if experiment_dir is not None:
        own = Path(experiment_dir) / "best_hyperparameters.json"
        write_json_atomic(own, document)
        if not finished:
            return own
    write_json_atomic(target, document)
    return target


def _table_rows(records: Sequence[TrialRecord]) -> list[dict[str, Any]]:
    rows = []
    for record in records:
        row = {k: v for k, v in asdict(record).items() if k not in ("params", "val_accuracy_history", "nodes")}
        row["val_accuracy_history"] = json.dumps(record.val_accuracy_history)
        row["nodes"] = json.dumps(record.nodes or ([record.node_id] if record.node_id else []))
        row.update({f"config/{k}": v for k, v in sorted(record.params.items())})
        rows.append(row)
    return rows


def write_trials_table(records: Sequence[TrialRecord], experiment_dir: Path) -> tuple[Path, Path]:
    """Every trial with config, metrics, status, failure reason, node and wall time: Parquet and CSV."""
    import pandas as pd

    frame = pd.DataFrame(_table_rows(records))
    # Config columns mix types across trials (None for inactive knobs); keep them as text-safe objects.
    for column in frame.columns:
        if column.startswith("config/") and frame[column].map(type).nunique() > 1:
            frame[column] = frame[column].map(lambda v: None if v is None else str(v))
    parquet = Path(experiment_dir) / "trials.parquet"
    csv = Path(experiment_dir) / "trials.csv"
    replace_atomically(parquet, lambda tmp: frame.to_parquet(tmp, engine="pyarrow", index=False), ".parquet")
    replace_atomically(csv, lambda tmp: frame.to_csv(tmp, index=False), ".csv")
    return parquet, csv


def read_trials_table(experiment_dir: Path):
    """The trials table as a pandas DataFrame."""
    import pandas as pd

    return pd.read_parquet(Path(experiment_dir) / "trials.parquet", engine="pyarrow")


def _fits(distribution: Any, value: Any) -> bool:
    try:
        return bool(distribution._contains(distribution.to_internal_repr(value)))
    except (ValueError, TypeError):
        return False


_OPTUNA_STATE = {"complete": "COMPLETE", "stopped_early": "COMPLETE", "failed": "FAIL", "diverged": "FAIL",
                 "running": "FAIL"}


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

    from search_spaces.translate_optuna import optuna_distributions

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    Path(storage_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    records = list(records)
    frozen = []
    for record in records:
        given = {k: v for k, v in record.params.items() if v is not None}
        distributions = optuna_distributions(space, given)
        # A value outside its distribution was held fixed, not searched (a grid's non-axis knobs at
        # the model default, e.g. l2=0.0 under a log range): keep it as an attribute, not a param.
        fixed = {k: v for k, v in given.items() if k in distributions and not _fits(distributions[k], v)}
        params = {k: v for k, v in given.items() if k in distributions and k not in fixed}
        state = getattr(optuna.trial.TrialState, _OPTUNA_STATE[record.status])
        value = record.best_val_accuracy if state == optuna.trial.TrialState.COMPLETE else None
        if state == optuna.trial.TrialState.COMPLETE and (value is None or not math.isfinite(value)):
            state, value = optuna.trial.TrialState.FAIL, None
        user_attrs = {
            "trial_id": record.trial_id,
            "status": record.status,
            "epochs": record.epochs,
            "node_id": record.node_id,
            "wall_time_s": record.wall_time_s,
            "failure_reason": record.failure_reason,
        }
        frozen.append(
            optuna.trial.create_trial(
                params=params,
                distributions={k: distributions[k] for k in params},
                value=value,
                state=state,
                intermediate_values={i + 1: v for i, v in enumerate(record.val_accuracy_history) if math.isfinite(v)},
                user_attrs={k: v for k, v in {**user_attrs, **{f"fixed_{k}": v for k, v in fixed.items()}}.items() if v is not None},
            )
        )
    # Parallel workers share the SQLite file: wait for its write lock rather than fail at once.
    storage = optuna.storages.RDBStorage(storage_url, engine_kwargs={"connect_args": {"timeout": 60}})
    for name in study_names:
        try:
            optuna.delete_study(study_name=name, storage=storage)
        except KeyError:
            pass  # first run with this name
        study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
        study.add_trials(frozen)


def validation_context(data: Any, seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The classical baselines on the validation split the trials were scored on, and its selection warnings.

    Validation only: the test split stays unread until ``train``/``verify``. The baselines' C is
    chosen on the same validation split, so their score is as optimistic as the best trial's.
    """
    from eeg.baselines import fit_baselines_on
    from eeg.errors import DataError
    from eeg.splits import validation_warnings

    dataset, split = getattr(data, "dataset", None), getattr(data, "split", None)
    warnings = validation_warnings(dataset, split) if dataset is not None and split is not None else []
    try:
        baselines = [b.as_dict() for b in fit_baselines_on(data.prepared, with_test=False, seed=seed)]
    except (DataError, ValueError) as error:
        # A training split of one class, or features scikit-learn cannot take (values near float32's
        # largest overflow its float64 sums): the trials' own numbers, already searched for, still stand.
        baselines = []
        warnings.append(f"warning: classical baselines not fitted: {str(error).splitlines()[0][:200]}")
    return baselines, warnings


@dataclass(frozen=True)
class ExperimentOutputs:
    """What :func:`write_experiment_outputs` wrote."""

    summary: dict[str, Any]
    best_file: Path | None
    trials_table: Path


def write_experiment_outputs(
    records: Sequence[TrialRecord],
    summary: Mapping[str, Any],
    settings: Settings,
    paths: ExperimentPaths,
    space: Any,
    data: Any,
    *,
    study_names: Sequence[str],
    metadata: Mapping[str, Any],
) -> ExperimentOutputs:
    """Trials table, Optuna studies, best_hyperparameters.json and summary.json, the same for every method.

    Args:
        records: one record per trial of the experiment.
        summary: from :func:`engines.records.summarise`.
        settings: the run's settings.
        paths: the experiment's files.
        space: the search space the trials came from.
        data: the experiment's :class:`engines.data.ExperimentData`.
        study_names: Optuna studies to rewrite from ``records``.
        metadata: what the backend adds to best_hyperparameters.json and summary.json
            (``method``, ``searcher``, ``scheduler`` and its own keys).
    """
    from eeg.splits import majority_baseline

    parquet, _ = write_trials_table(records, paths.local)
    write_optuna_study(records, paths.optuna_url, study_names, space)
    val_baseline = majority_baseline(data.prepared.y_train, data.prepared.y_val)
    chance = 1.0 / data.prepared.n_classes
    val_baselines, selection_warnings = validation_context(data, settings.seed)
    summary = {**summary, "val_majority_baseline": val_baseline, "chance": chance, "val_baselines": val_baselines,
               "selection_warnings": selection_warnings, **metadata}
    best_file = None
    if summary["best_trial"] is not None:
        document = best_hyperparameters_document(
            summary["best_params"],
            {
                "best_score": round(summary["best_val_accuracy"], 4),
                "metric": "val_accuracy",
                "val_majority_baseline": round(val_baseline, 4),
                "chance": round(chance, 4),
                "val_baselines": {b["name"]: round(b["val_accuracy"], 4) for b in val_baselines},
                **{k: metadata[k] for k in ("method", "searcher", "scheduler")},
                "trials": summary["trials"],
                "max_epochs": settings.max_epochs,
                "seed": settings.seed,
                "data": data.description,
                "split": settings.split,
                "split_seed": settings.split_seed,
                "experiment": str(paths.local),
                "experiment_name": paths.name,
                "experiment_finished": bool(summary["finished"]),
                **{k: v for k, v in metadata.items() if k not in ("method", "searcher", "scheduler")},
            },
        )
        best_file = write_best_hyperparameters(paths.output_dir, paths.local, document, finished=summary["finished"])
    write_json_atomic(paths.summary_file, summary)
    return ExperimentOutputs(summary=summary, best_file=best_file, trials_table=parquet)
