"""``tune_cluster.py tune --method optuna|keras-tuner``: the seed's two methods, on one machine, no Ray.

Both methods read the same data (:func:`engines.data.prepare_experiment_data`; the tuner
sees train and validation only), the same search space (``search_spaces.cnn_lstm.SPACE``
with ``--space`` overrides) and write the same outputs as the Ray engine, through the shared
writer in :mod:`engines.results`: ``<output-dir>/best_hyperparameters.json``,
``<output-dir>/tuning/<name>/`` (trials table, ``config.json``, ``summary.json``) and the study
``emotion_recognition_optuna`` in ``sqlite:///<output-dir>/tuning/optuna.db``.

Resuming follows each method's own habit:

* ``--method optuna`` refuses an existing ``--name`` unless ``--resume`` is given; then the
  same Optuna study continues until it holds ``--max-trials`` finished trials.
* ``--method keras-tuner`` resumes by re-running the same command (the guide's 8.3): its
  default name is derived from the settings that shape the search (data, split, seeds, space,
  epochs, algorithm), so the same command finds the same Keras Tuner project and changed data
  starts a new one. ``--resume --name`` works too.

Order matters for the exit-code contract: every check on the user's input runs before
anything is written, so a bad flag or file exits 2 with nothing created or overwritten.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from eeg.errors import InputError

__all__ = [
    "METHODS",
    "SingleMachineRun",
    "run_single_machine",
    "prepare_run",
    "start_experiment",
    "exit_code",
    "validate_single_machine_config",
    "load_saved_config",
    "finished_summary",
    "write_single_machine_outputs",
    "hostname",
]

METHODS = ("optuna", "keras-tuner")
KERAS_TUNER_ALGORITHMS = ("bayesian", "hyperband", "random")
# Settings that only the Ray engine reads; a non-default value earns a note, not an error.
_RAY_ONLY = ("address", "storage", "max_concurrent", "cpus_per_trial", "gpus_per_trial", "memory_per_trial",
             "reuse_actors", "max_failures")
# Settings an experiment must keep when it is continued (max_trials and time_budget may change).
_SAME_ON_RESUME = ("method", "use_dummy_data", "data", "dataset", "label_rule", "split", "split_seed", "seed", "space",
                   "max_epochs", "smoke_test")


@dataclass
class SingleMachineRun:
    """A validated run: settings, where its files go, and whether it continues an experiment."""

    settings: dict[str, Any]
    paths: Any  # engines.ray_experiment.ExperimentPaths
    space: Any  # search_spaces.space.SearchSpace
    continuing: bool  # the experiment folder exists and this run adds to it
    saved_config: dict[str, Any] | None


def hostname() -> str:
    """This machine's name: node and host of every single-machine trial."""
    return socket.gethostname()


def _fingerprint(config: Mapping[str, Any]) -> str:
    """Eight hex digits over what shapes a Keras Tuner search, so the same command finds the same project."""
    keys = ("use_dummy_data", "dataset", "label_rule", "split", "split_seed", "seed", "max_epochs", "grace_period",
            "smoke_test", "tuning_algorithm")
    parts = {k: config.get(k) for k in keys}
    parts["data"] = str(Path(config["data"]).expanduser().resolve()) if config.get("data") else None
    space = config.get("space")
    if space:
        try:
            parts["space"] = hashlib.sha256(Path(space).read_bytes()).hexdigest()
        except OSError:
            parts["space"] = str(space)  # unreadable: loading the space will say so
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _default_name(settings: Mapping[str, Any]) -> str:
    if settings["method"] == "keras-tuner":
        return f"cnn_lstm_keras-tuner_{settings['tuning_algorithm']}_{_fingerprint(settings)}"
    return f"cnn_lstm_optuna-native_{settings['scheduler']}_{_dt.datetime.now():%Y%m%d-%H%M%S}"


def validate_single_machine_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Check every setting (the Ray engine's rules plus this method's) and fill in the name.

    Raises:
        InputError: the first bad setting, in one line.
    """
    from engines.config import DEFAULTS
    from engines.ray_experiment import validate_tune_config

    method = config.get("method")
    if method not in METHODS:
        raise InputError(f"--method must be one of ray, {', '.join(METHODS)}, got {method!r}")
    algorithm = config.get("tuning_algorithm")
    if algorithm not in KERAS_TUNER_ALGORITHMS:
        raise InputError(f"--tuning-algorithm must be one of {', '.join(KERAS_TUNER_ALGORITHMS)}, got {algorithm!r}")
    if method == "optuna" and config.get("scheduler") not in ("asha", "hyperband", "median", "fifo"):
        raise InputError(
            f"--method optuna: --scheduler picks Optuna's pruner (asha, hyperband, median or fifo), got "
            f"{config.get('scheduler')!r}; BOHB runs on Ray: --method ray --searcher bohb --scheduler bohb"
        )
    settings = validate_tune_config(dict(config))  # trials, epochs, grace period, budget, smoke shrinking, --name
    if not config.get("name"):
        settings["name"] = _default_name(settings)  # after smoke shrinking: the epochs the search really uses
    ignored = [k for k in _RAY_ONLY if settings.get(k) != DEFAULTS[k]]
    ignored += [k for k in ("searcher",) if settings.get(k) != DEFAULTS[k]]
    if method == "optuna" and settings["tuning_algorithm"] != DEFAULTS["tuning_algorithm"]:
        ignored.append("tuning_algorithm")
    if method == "keras-tuner" and settings["scheduler"] != DEFAULTS["scheduler"]:
        ignored.append("scheduler")
    if ignored:
        flags = ", ".join("--" + k.replace("_", "-") for k in ignored)
        print(f"note: --method {method} runs on this machine without Ray; ignoring {flags}", flush=True)
    return settings


def load_saved_config(paths: Any) -> dict[str, Any] | None:
    """The ``config.json`` an earlier run of this experiment saved, or None."""
    file = paths.local / "config.json"
    if not file.is_file():
        return None
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError):
        raise InputError(
            f"{file}: unreadable experiment config; choose another --name (nothing was overwritten)"
        ) from None


def finished_summary(paths: Any) -> dict[str, Any] | None:
    """``summary.json`` of the experiment when it says the experiment finished."""
    file = paths.summary_file
    if file.is_file():
        try:
            summary = json.loads(file.read_text())
        except (OSError, ValueError):
            return None
        if summary.get("finished"):
            return summary
    return None


def _check_same_experiment(saved: Mapping[str, Any], settings: Mapping[str, Any], name: str) -> None:
    keys = _SAME_ON_RESUME + (("tuning_algorithm",) if settings["method"] == "keras-tuner" else ())
    for key in keys:
        if saved.get(key) != settings.get(key):
            how = f"--method {saved.get(key)}" if key == "method" else "the same settings"
            raise InputError(
                f"--name: experiment '{name}' was run with {key}={saved.get(key)!r}, not {settings.get(key)!r}; "
                f"continue it with {how} or choose another --name (nothing was overwritten)"
            )


def prepare_run(config: Mapping[str, Any]) -> SingleMachineRun:
    """Validate settings, space and the experiment folder; writes nothing.

    Raises:
        InputError: a bad setting or space file, an existing experiment without ``--resume``
            (optuna), a ``--resume`` of nothing, or a continued experiment whose settings changed.
    """
    from engines.ray_experiment import experiment_paths
    from search_spaces import get_space

    settings = validate_single_machine_config(config)
    space = get_space(overrides_path=settings.get("space"))
    paths = experiment_paths({**settings, "storage": None}, settings["name"])
    saved = load_saved_config(paths)
    exists = paths.local.exists()
    if settings["resume"] and not exists:
        raise InputError(f"--resume: no experiment named '{paths.name}' to resume at {paths.local}")
    if exists and not settings["resume"] and settings["method"] == "optuna":
        raise InputError(
            f"--name: experiment '{paths.name}' already exists at {paths.local}; pass --resume to continue it "
            "or choose another --name (nothing was overwritten)"
        )
    if exists and saved is None:
        raise InputError(
            f"--name: {paths.local} exists but holds no experiment (no config.json); choose another --name "
            "(nothing was overwritten)"
        )
    if saved is not None:
        _check_same_experiment(saved, settings, paths.name)
    return SingleMachineRun(settings=settings, paths=paths, space=space, continuing=exists, saved_config=saved)


def start_experiment(run: SingleMachineRun, data: Any) -> None:
    """Past validation: create the experiment folder and save the resolved config (first run only)."""
    from engines.config import save_config

    run.paths.local.mkdir(parents=True, exist_ok=True)
    if run.saved_config is None:
        save_config({**run.settings, "data_description": data.description}, run.paths.local / "config.json")


def _distributions_for(space: Any):
    from search_spaces.translate_optuna import optuna_distributions

    return lambda params: optuna_distributions(space, params)


def write_single_machine_outputs(
    records: Sequence[Any],
    run: SingleMachineRun,
    data: Any,
    *,
    run_wall_s: float,
    busy_s: float,
    finished: bool,
    searcher: str,
    scheduler: str,
    study_names: Sequence[str],
    extra: Mapping[str, Any] | None = None,
    summary_extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Trials table, Optuna study copies, best_hyperparameters.json and summary.json, as the Ray engine writes them.

    Args:
        records: one :class:`engines.results.TrialRecord` per trial of the experiment (all runs).
        run: the validated run.
        data: the experiment's :class:`engines.data.ExperimentData`.
        run_wall_s: seconds this invocation spent searching.
        busy_s: seconds of that spent inside trials (utilisation = busy_s / run_wall_s).
        finished: whether the experiment is done (``--resume`` has nothing left to do).
        searcher, scheduler: what metadata names them.
        study_names: Optuna studies to (re)write from ``records``.
        extra: more metadata for best_hyperparameters.json and summary.json.
        summary_extra: more fields for summary.json only.

    Returns:
        The summary written to ``summary.json``.
    """
    from engines.ray_records import summarise, write_experiment_outputs

    settings = {**run.settings, "searcher": searcher, "scheduler": scheduler}
    summary = summarise(records, {**settings, "cpus_per_trial": 1.0}, run_wall_s=run_wall_s, cluster_cpus=1.0)
    # One process runs the trials one after another: utilisation is the share of time spent inside them.
    summary.update(
        finished=bool(finished),
        worker_utilisation=round(busy_s / run_wall_s, 3) if run_wall_s > 0 else None,
        max_trials=settings["max_trials"],
        **dict(summary_extra or {}),
    )
    hint = "re-run the same command" if settings["method"] == "keras-tuner" else f"--resume --name {run.paths.name}"
    return write_experiment_outputs(
        records, summary, settings, run.paths, run.space, data,
        method=settings["method"], study_names=study_names, extra=extra, resume_hint=hint,
    )


def exit_code(summary: Mapping[str, Any]) -> int:
    """1 when every trial failed (a real failure), else 0."""
    if summary["trials"] and summary["complete"] + summary["stopped_early"] == 0:
        print(f"error: all {summary['trials']} trials failed; first reason: {summary['first_failure']}", flush=True)
        return 1
    return 0


def run_single_machine(config: dict[str, Any]) -> int:
    """Run (or continue) a native Optuna or Keras Tuner search and write every output. Returns the exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    run = prepare_run(config)
    if run.settings["method"] == "optuna":
        from engines.optuna_native import run_optuna

        return run_optuna(run)
    from engines.keras_tuner_engine import run_keras_tuner

    return run_keras_tuner(run)
