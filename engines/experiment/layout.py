"""Where an experiment's files live, what it is called, and the lock its writers share.

::

    <output-dir>/best_hyperparameters.json       what users open (the guide's schema)
    <output-dir>/tuning/optuna.db                 Optuna studies: the guide's ``emotion_recognition_optuna``
                                                  and one ``emotion_recognition_optuna:<name>`` per experiment
    <output-dir>/tuning/<name>/                   config.json, summary.json, trials table, plots
    <storage>/<name>/                             Ray's experiment state and trial checkpoints
                                                  (the same folder unless --storage points elsewhere)
    <storage>/<name>/eeg_experiment_config.json   config.json's copy, eeg_outputs/ the outputs' copy
                                                  (engines.experiment.storage: what a new machine resumes or fetches from)
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from eeg.errors import InputError
from engines.experiment.files import UnreadableJSON, read_json
from engines.experiment.settings import Settings

__all__ = [
    "STUDY_NAME",
    "LIVE_SUFFIX",
    "ExperimentPaths",
    "experiment_paths",
    "timestamped_name",
    "fingerprinted_name",
    "join_uri",
    "study_location",
    "read_saved_config",
    "read_summary",
    "locked",
]

STUDY_NAME = "emotion_recognition_optuna"  # the guide's 8.4 loads this name
LIVE_SUFFIX = ":live"  # ExperimentPaths.live_study_name
OPTUNA_DB = "optuna.db"

# What shapes a search: the same command with the same values finds the same experiment.
_FINGERPRINT_KEYS = ("use_dummy_data", "dataset", "label_rule", "split", "split_seed", "seed", "max_epochs",
                     "grace_period", "smoke_test", "tuning_algorithm")


@dataclass(frozen=True)
class ExperimentPaths:
    """One experiment's files.

    ``local`` holds what this project writes (trials table, plots, config, summary); ``ray``
    is Ray's experiment folder (trial checkpoints, TensorBoard logs), which is the same folder
    unless ``--storage`` points at shared or cloud storage.
    """

    output_dir: Path
    name: str
    storage: str

    @property
    def tuning(self) -> Path:
        return self.output_dir / "tuning"

    @property
    def local(self) -> Path:
        return self.tuning / self.name

    @property
    def ray(self) -> str:
        return join_uri(self.storage, self.name)

    @property
    def config_file(self) -> Path:
        return self.local / "config.json"

    @property
    def summary_file(self) -> Path:
        return self.local / "summary.json"

    @property
    def optuna_db(self) -> Path:
        return self.tuning / OPTUNA_DB

    @property
    def optuna_url(self) -> str:
        """``sqlite:///<output-dir>/tuning/optuna.db``: where the guide's ``optuna.load_study`` looks."""
        return self.study_url(None)

    def study_url(self, optuna_storage: str | None) -> str:
        """Where the experiment's own Optuna study lives: ``--optuna-storage``, else :attr:`optuna_url`."""
        return study_location(self.tuning, self.name, optuna_storage)[0]

    @property
    def study_name(self) -> str:
        """The experiment's own Optuna study; :data:`STUDY_NAME` always shows the latest run."""
        return study_location(self.tuning, self.name, None)[1]

    @property
    def live_study_name(self) -> str:
        """Ray's OptunaSearch keeps its own study here while trials run (``make dashboard`` shows it live). Its own
        name: the run's end rewrites :attr:`study_name` from the records, and a resumed searcher needs its study."""
        return f"{self.study_name}{LIVE_SUFFIX}"

    @property
    def lock_file(self) -> Path:
        return self.tuning / ".lock"


def study_location(tuning: Path, name: str, optuna_storage: str | None) -> tuple[str, str]:
    """The Optuna study of experiment ``name`` under ``tuning`` (``<output-dir>/tuning``): its RDB URL and its name.

    ``--optuna-storage`` (workers on several machines) where given, else ``<tuning>/optuna.db``;
    the study is ``emotion_recognition_optuna:<name>``.
    """
    url = optuna_storage or f"sqlite:///{(Path(tuning) / OPTUNA_DB).resolve()}"
    return url, f"{STUDY_NAME}:{name}"


def join_uri(base: str, *parts: str) -> str:
    """``base/part/...`` for a path or URI; a URI's ``?query`` (e.g. ``endpoint_override=...``) stays at the end."""
    path, mark, query = base.partition("?")
    return "/".join((path.rstrip("/"), *parts)) + mark + query


def experiment_paths(settings: Settings, name: str | None = None) -> ExperimentPaths:
    """The paths of the experiment ``name`` (default ``settings.name``)."""
    storage = settings.storage
    output_dir = Path(settings.output_dir)
    if not storage:
        storage = str((output_dir / "tuning").resolve())
    elif "://" not in storage:
        storage = str(Path(storage).expanduser().resolve())  # Ray wants an absolute local path
    return ExperimentPaths(output_dir, name or settings.name or "", storage)


def timestamped_name(*parts: str, space: str = "cnn_lstm") -> str:
    """``<space>_<parts>_<time>`` (``cnn_lstm_optuna_asha_...``): a new experiment per command."""
    return "_".join((space, *parts, f"{_dt.datetime.now():%Y%m%d-%H%M%S}"))


def fingerprinted_name(settings: Settings, *parts: str) -> str:
    """``cnn_lstm_<parts>_<8 hex digits>`` over what shapes the search.

    The same command (same data, split, seeds, space, epochs, algorithm) finds the same
    experiment, so re-running it continues it and copies started together share it; other
    data starts a new one.
    """
    values: dict[str, Any] = {key: getattr(settings, key) for key in _FINGERPRINT_KEYS}
    values["data"] = str(Path(settings.data).expanduser().resolve()) if settings.data else None
    if getattr(settings, "objective", "accuracy") != "accuracy":  # a study's directions are fixed at creation
        values["objective"] = settings.objective
    if settings.space:
        try:
            values["space"] = hashlib.sha256(Path(settings.space).read_bytes()).hexdigest()
        except OSError:
            values["space"] = settings.space  # unreadable: loading the space will say so
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return "_".join(("pipeline" if settings.space == "pipeline" else "cnn_lstm", *parts, digest))


def read_saved_config(paths: ExperimentPaths) -> dict[str, Any] | None:
    """The ``config.json`` an earlier run of this experiment saved, or None."""
    try:
        return read_json(paths.config_file, strict=True)
    except UnreadableJSON:
        raise InputError(
            f"{paths.config_file}: unreadable experiment config; choose another --name (nothing was overwritten)"
        ) from None


def read_summary(paths: ExperimentPaths) -> dict[str, Any] | None:
    """The experiment's ``summary.json``, or None when there is none (or it cannot be read)."""
    return read_json(paths.summary_file)


@contextlib.contextmanager
def locked(paths: ExperimentPaths) -> Iterator[None]:
    """Hold the experiment folder's lock: one writer at a time of the shared Optuna database and outputs.

    An advisory ``flock`` on ``<output-dir>/tuning/.lock``: parallel workers on one machine
    (the guide's 8.2) take turns rewriting the guide's study and the shared files.
    """
    paths.tuning.mkdir(parents=True, exist_ok=True)
    with open(paths.lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
