"""Per-epoch progress of every trial of an experiment, finished or still running, for ``report``'s curves.

Three sources, best first:

* the trials table (``trials.parquet``), written when a run ends: statuses and
  per-epoch validation accuracy for every method;
* Ray's own trial folders (``<storage>/<name>/trial_*/result.json``), written epoch by
  epoch: the only record of a Ray run still going, and the one with each epoch's time;
* the experiment's native Optuna study (``--method optuna``), written trial by trial.

Everything here reads plain JSON, CSV, Parquet or SQLite; nothing is unpickled.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.experiment.files import read_json_object
from engines.experiment.layout import study_location
from engines.experiment.records import status_of_optuna_trial, status_of_ray_trial
from engines.experiment.trials_table import TABLE_FILE, read_trials_table

__all__ = ["TrialProgress", "ExperimentProgress", "read_progress", "load_study", "asha_rungs"]


@dataclass
class TrialProgress:
    """One trial's curve.

    Attributes:
        trial_id: As in the trials table.
        status: ``complete`` | ``stopped_early`` | ``failed`` | ``running``.
        val_accuracy: Validation accuracy after each epoch.
        epoch_end_s: Seconds from the experiment's start to the end of each epoch, where known.
        params: The trial's hyperparameters (empty where the source lacks them).
        wall_time_s: The trial's total run time, where the trials table has it.
        failure_reason: Why a failed or diverged trial ended, where the trials table has it.
    """

    trial_id: str
    status: str
    val_accuracy: list[float]
    epoch_end_s: list[float] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    wall_time_s: float | None = None
    failure_reason: str | None = None


@dataclass
class ExperimentProgress:
    """What ``report`` draws: every trial, the settings that shape the curves, and where they came from."""

    name: str
    trials: list[TrialProgress]
    config: dict[str, Any]
    source: str  # "trials table" | "Ray trial folders" | "Optuna study"
    finished: bool
    times_measured: bool  # epoch_end_s from real timestamps (False: trial wall times laid end to end)
    summary: dict[str, Any] = field(default_factory=dict)  # summary.json, once the run has written it


def asha_rungs(grace_period: int, max_epochs: int, reduction_factor: int = 3) -> list[int]:
    """The epochs at which ASHA (and Optuna's successive halving) compares trials: grace * 3**k below max_epochs."""
    rungs, rung = [], max(1, min(grace_period, max_epochs))
    while rung < max_epochs:
        rungs.append(rung)
        rung *= reduction_factor
    return rungs


def _ray_folder(experiment_dir: Path, config: dict[str, Any]) -> Path | None:
    """Ray's experiment folder: the experiment folder itself unless --storage put it elsewhere (local paths only)."""
    if any(experiment_dir.glob("trial_*/result.json")):
        return experiment_dir
    storage = config.get("storage")
    if storage and "://" not in storage:
        folder = Path(storage).expanduser() / experiment_dir.name
        if any(folder.glob("trial_*/result.json")):
            return folder
    return None


def _ray_statuses(folder: Path) -> dict[str, str]:
    """Trial id -> Ray status from the newest experiment_state JSON (its trial entries are JSON text)."""
    states = sorted(folder.glob("experiment_state-*.json"))
    statuses: dict[str, str] = {}
    for entry in read_json_object(states[-1]).get("trial_data", []) if states else []:
        try:
            trial = json.loads(entry[0] if isinstance(entry, list) else entry)
            statuses[str(trial["trial_id"])] = str(trial["status"])
        except (ValueError, KeyError, TypeError, IndexError):
            continue
    return statuses


def _ray_results(folder: Path) -> dict[str, tuple[list[float], list[float], dict[str, Any]]]:
    """Trial id -> (val accuracy per epoch, unix time at each epoch's end, params) from result.json lines."""
    results = {}
    for file in sorted(folder.glob("trial_*/result.json")):
        accuracy, ends = [], []
        try:
            lines = file.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # the line being written right now
            if "val_accuracy" in row:
                accuracy.append(float(row["val_accuracy"]))
                ends.append(float(row.get("timestamp") or 0.0))
        params = read_json_object(file.parent / "params.json")
        results[file.parent.name.removeprefix("trial_")] = (accuracy, ends, params)
    return results


def _from_table(experiment_dir: Path) -> list[TrialProgress]:
    trials = []
    for _, row in read_trials_table(experiment_dir).iterrows():
        history = json.loads(row["val_accuracy_history"]) if isinstance(row["val_accuracy_history"], str) else []
        params = {c.removeprefix("config/"): row[c] for c in row.index if c.startswith("config/") and row[c] is not None}
        wall = row.get("wall_time_s")
        reason = row.get("failure_reason")
        trials.append(TrialProgress(str(row["trial_id"]), str(row["status"]), [float(v) for v in history],
                                    params=params, wall_time_s=float(wall) if wall is not None else None,
                                    failure_reason=reason if isinstance(reason, str) else None))
    return trials


def load_study(experiment_dir: Path, config: dict[str, Any]) -> Any:
    """The experiment's Optuna study (every method writes one when it ends; a native Optuna run's is live), or None."""
    import optuna

    url, name = study_location(Path(experiment_dir).parent, Path(experiment_dir).name, config.get("optuna_storage"))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.load_study(study_name=name, storage=url)
    except (KeyError, ValueError, ImportError):
        return None


def _from_optuna(experiment_dir: Path, config: dict[str, Any]) -> tuple[list[TrialProgress], bool]:
    """The native Optuna study of this experiment: trials so far, with epochs spread over each trial's run time."""
    study = load_study(experiment_dir, config)
    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_start is not None] if study else []
    if not trials:
        return [], False
    start = min(t.datetime_start for t in trials)
    now = _dt.datetime.now()
    max_epochs = int(config.get("max_epochs") or 1)
    progress = []
    for t in trials:
        values = [float(t.intermediate_values[k]) for k in sorted(t.intermediate_values)]
        begin = (t.datetime_start - start).total_seconds()
        end = ((t.datetime_complete or now) - start).total_seconds()
        ends = [begin + (end - begin) * (i + 1) / len(values) for i in range(len(values))]
        status = status_of_optuna_trial(t.state.name, len(values), max_epochs, t.user_attrs.get("failure_reason"))
        progress.append(TrialProgress(str(t.number), status, values, ends, dict(t.params)))
    return progress, True


def read_progress(experiment_dir: Path) -> ExperimentProgress:
    """Every trial's per-epoch validation accuracy, from whatever the experiment's storage holds so far."""
    experiment_dir = Path(experiment_dir)
    config = read_json_object(experiment_dir / "config.json")
    max_epochs = int(config.get("max_epochs") or 1)
    has_table = (experiment_dir / TABLE_FILE).is_file()
    summary = read_json_object(experiment_dir / "summary.json")
    finished = bool(summary.get("finished")) if has_table else False
    ray = _ray_folder(experiment_dir, config)
    ray_results = _ray_results(ray) if ray is not None else {}
    if has_table:
        trials, source = _from_table(experiment_dir), "trials table"
    elif ray_results:
        statuses = _ray_statuses(ray)
        trials = [TrialProgress(tid, status_of_ray_trial(statuses.get(tid), len(acc), max_epochs), acc, params=params)
                  for tid, (acc, _, params) in ray_results.items()]
        source = "Ray trial folders"
    else:
        trials, measured = _from_optuna(experiment_dir, config) if config.get("method") == "optuna" else ([], False)
        return ExperimentProgress(experiment_dir.name, trials, config, "Optuna study", False, measured, summary)
    measured = False
    if ray_results:  # Ray's timestamps give every epoch's real time, for the table's trials too
        starts = [ends[0] - 1e-9 for acc, ends, _ in ray_results.values() if ends and ends[0] > 0]
        start = min(starts) if starts else 0.0
        for trial in trials:
            acc, ends, _ = ray_results.get(trial.trial_id, ([], [], {}))
            if ends and len(ends) == len(trial.val_accuracy) and all(e > 0 for e in ends):
                trial.epoch_end_s = [e - start for e in ends]
        measured = all(t.epoch_end_s is not None for t in trials if t.val_accuracy)
    elif has_table and config.get("method") == "optuna":
        optuna_trials, ok = _from_optuna(experiment_dir, config)
        if ok and len(optuna_trials) == len(trials):
            for trial, timed in zip(trials, optuna_trials):
                if len(timed.val_accuracy) == len(trial.val_accuracy):
                    trial.epoch_end_s = timed.epoch_end_s
            measured = all(t.epoch_end_s is not None for t in trials if t.val_accuracy)
    if not measured:  # no timestamps: lay the trials' wall times end to end, in trial order (sequential methods)
        clock = 0.0
        for trial in trials:
            wall = trial.wall_time_s
            n = len(trial.val_accuracy)
            wall = float(wall) if wall is not None and wall == wall and n else float(n)
            trial.epoch_end_s = [clock + wall * (i + 1) / n for i in range(n)] if n else []
            clock += wall if n else 0.0
    return ExperimentProgress(experiment_dir.name, trials, config, source, finished, measured, summary)
