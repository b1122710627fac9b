"""``--method keras-tuner``: the seed's recommended method, Keras Tuner's three algorithms on one machine.

``--tuning-algorithm`` picks ``kt.BayesianOptimization`` (default), ``kt.Hyperband`` or
``kt.RandomSearch``; each tunes the plain-data space through
:func:`search_spaces.translate_keras_tuner.build_keras_tuner_hparams` and builds the model with
:func:`eeg.model.build_model`. ``--max-trials`` caps the trials of every algorithm (Hyperband
counts each promotion of a model to more epochs as a trial, like Keras Tuner does). Every
trial stops early when ``val_loss`` has not improved for ``max(3, --grace-period)`` epochs.

Keras Tuner keeps its own state under ``<output-dir>/tuning/<name>/keras_tuner/emotion_recognition``
(``overwrite=False``), so re-running the same command continues where it stopped (the guide's
8.3): completed trials are kept and a trial that was running is run again. Per-epoch history,
timing and the host of each trial are kept beside Keras Tuner's ``trial.json`` (``history.json``)
so the trials table covers every run of the experiment.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from eeg.errors import InputError
from eeg.training import NonFiniteLossError, check_finite
from engines.backends.base import RAY_ONLY, Run, SearchOutcome, hostname, no_session, note_ignored
from engines.experiment.files import read_json_object
from engines.experiment.layout import STUDY_NAME, ExperimentPaths, fingerprinted_name, read_summary
from engines.experiment.records import (TrialRecord, already_finished_line, failure_reason, fold_scores_at_best,
                                       status_of_keras_tuner_trial)
from engines.experiment.settings import Settings

__all__ = ["KerasTunerBackend", "ALGORITHMS", "build_tuner", "tuner_records", "PROJECT_NAME",
           "early_stopping_patience"]

ALGORITHMS = ("bayesian", "hyperband", "random")
PROJECT_NAME = "emotion_recognition"
# What this engine does not read: Ray's settings, and the scheduler and storage of native Optuna (a note).
_IGNORED = (*RAY_ONLY, "scheduler", "optuna_storage")
HISTORY_FILE = "history.json"
_FACTOR = 3  # Hyperband's reduction factor, as the Ray schedulers use


class _TimeBudgetSpent(Exception):
    """--time-budget ran out: start no new trial."""


def early_stopping_patience(grace_period: int) -> int:
    """Epochs without a better ``val_loss`` before a trial stops."""
    return max(3, int(grace_period))


def _hypermodel(space: Any, input_shape: tuple[int, ...], n_classes: int, *, seed: int, verbose: int) -> Any:
    import keras
    import keras_tuner as kt

    from eeg.model import DEFAULT_HPARAMS, build_model, resolve_hparams
    from search_spaces.translate_keras_tuner import build_keras_tuner_hparams

    class CnnLstmHyperModel(kt.HyperModel):
        """The CNN + LSTM classifier over ``space``; ``fit`` uses the trial's batch size."""

        def hparams(self, hp: Any) -> dict[str, Any]:
            return resolve_hparams(build_keras_tuner_hparams(hp, space, defaults=DEFAULT_HPARAMS))

        def build(self, hp: Any) -> Any:
            hparams = self.hparams(hp)
            keras.utils.set_random_seed(seed)  # the same initial weights for the same config
            return build_model(hparams, input_shape, n_classes)

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            kwargs["verbose"] = 2 if verbose >= 2 else 0  # one line per epoch at most
            batch_size = hp.values.get("batch_size", DEFAULT_HPARAMS["batch_size"])
            return model.fit(*args, batch_size=int(batch_size), shuffle=True, **kwargs)

    if space.name == "pipeline":
        class PipelineHyperModel(CnnLstmHyperModel):
            """``--space pipeline``: registers the space; :class:`_PipelineTuner` builds each trial's model."""

            def build(self, hp: Any) -> None:
                build_keras_tuner_hparams(hp, space)  # Keras Tuner calls this to find every conditional knob

        return PipelineHyperModel(name="pipeline")
    return CnnLstmHyperModel(name="cnn_lstm")


class _RecordingTuner:
    """Mixed in before a Keras Tuner class: per-epoch history, NaN checks, timing and --time-budget."""

    def _start_recording(self, deadline: float | None) -> None:
        self._deadline = deadline
        self._host = hostname()
        self._current: dict[str, Any] = {}
        self.busy_s = 0.0
        self.ran: list[str] = []
        self._lines: tuple[int, int, float] | None = None  # (max epochs, trials, start) to print a line per trial

    def pre_create_trial(self) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise _TimeBudgetSpent()
        super().pre_create_trial()

    def on_trial_begin(self, trial: Any) -> None:
        self._current = {"started": time.perf_counter(), "setup_s": None, "history": [], "epochs": [], "last": {},
                         "folds": []}
        super().on_trial_begin(trial)

    def on_epoch_begin(self, trial: Any, model: Any, epoch: int, logs: Any = None) -> None:
        if self._current["setup_s"] is None:
            self._current["setup_s"] = round(time.perf_counter() - self._current["started"], 3)
        super().on_epoch_begin(trial, model, epoch, logs=logs)

    def on_epoch_end(self, trial: Any, model: Any, epoch: int, logs: Any = None) -> None:
        import keras_tuner as kt

        logs = {k: float(v) for k, v in (logs or {}).items()}
        self._current["history"].append(logs.get("val_accuracy", float("nan")))
        self._current["epochs"].append(int(epoch) + 1)
        self._current["last"] = logs
        try:
            check_finite(logs, int(epoch) + 1, trial.hyperparameters.values)
        except NonFiniteLossError as error:
            # Keras Tuner's own split: FailedTrialError fails this trial, the search goes on.
            raise kt.errors.FailedTrialError(f"{type(error).__name__}: {error}") from None
        if self._deadline is not None and time.monotonic() >= self._deadline:
            model.stop_training = True
        super().on_epoch_end(trial, model, epoch, logs=logs)

    def on_trial_end(self, trial: Any) -> None:
        elapsed = time.perf_counter() - self._current.get("started", time.perf_counter())
        self.busy_s += elapsed
        self.ran.append(trial.trial_id)
        last = self._current.get("last", {})
        record = {
            "val_accuracy_history": self._current.get("history", []),
            "fold_val_accuracy_history": self._current.get("folds", []),
            "epochs": self._current.get("epochs", []),
            "val_loss": last.get("val_loss"),
            "accuracy": last.get("accuracy"),
            "loss": last.get("loss"),
            "hostname": self._host,
            "wall_time_s": round(elapsed, 3),
            "setup_s": self._current.get("setup_s"),
            "latency_ms": self._current.get("latency_ms"),
            "n_params": self._current.get("n_params"),
        }
        text = json.dumps(record, allow_nan=True)
        Path(self.get_trial_dir(trial.trial_id), HISTORY_FILE).write_text(text + "\n")
        super().on_trial_end(trial)
        if self._lines is not None:  # --verbose 1: the line every method prints, in Keras Tuner's trial ids
            from engines.experiment.console import sequential_trial_line

            max_epochs, total, started = self._lines
            status = "error" if str(getattr(trial, "status", "")).upper() == "FAILED" else "complete"
            print(sequential_trial_line(trial.trial_id, status, record["val_accuracy_history"], max_epochs, self._host,
                                        done=len(self.ran), total=total, started=started), flush=True)


class _PipelineTuner:
    """Mixed in first with ``--space pipeline``: each trial makes its features and builds its family's model.

    Overrides ``_build_and_fit_model``, the step Keras Tuner keeps for this (AutoKeras tunes preprocessing
    there): a CNN + LSTM trains on the trial's own features through Keras Tuner's callbacks as any trial does;
    a classical family is fitted once and its score stands for every epoch of the round.
    """

    _recordings: Any = None
    _cache_dir: str | None = None
    _space: Any = None

    def _build_and_fit_model(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        if self._recordings is None:
            return super()._build_and_fit_model(trial, *args, **kwargs)
        import keras

        from eeg.latency import keras_latency_ms
        from eeg.model import build_model, resolve_hparams
        from search_spaces.pipeline import split_pipeline_config
        from search_spaces.translate_keras_tuner import build_keras_tuner_hparams

        hp = trial.hyperparameters
        prep, family, own = split_pipeline_config(build_keras_tuner_hparams(hp, self._space))
        data, _ = self._recordings.prepared(self._recordings.fitted(prep), cache_dir=self._cache_dir)
        if family != "cnn_lstm":
            return self._fit_classical(family, own, data, int(kwargs.get("epochs", 1)))
        hparams = resolve_hparams(own)
        keras.utils.set_random_seed(self._seed)
        model = build_model(hparams, data.input_shape, data.n_classes)
        self._current.update(latency_ms=keras_latency_ms(model, data.input_shape), n_params=int(model.count_params()))
        kwargs["validation_data"] = (data.X_val, data.y_val)
        return self.hypermodel.fit(hp, model, data.X_train, data.y_train, **kwargs)

    def _fit_classical(self, family: str, params: dict[str, Any], data: Any, epochs: int) -> dict[str, float]:
        from eeg.classical import fit_classical
        from eeg.latency import sklearn_latency_ms, sklearn_parameter_count

        self._current["setup_s"] = round(time.perf_counter() - self._current["started"], 3)
        model, accuracy, _ = fit_classical(family, params, data.X_train, data.y_train, data.X_val, data.y_val,
                                           seed=self._seed)
        self._current.update(history=[accuracy] * epochs, epochs=list(range(1, epochs + 1)),
                             latency_ms=sklearn_latency_ms(model, int(data.input_shape[-1])),
                             n_params=sklearn_parameter_count(model))
        return {"val_accuracy": accuracy}


class _CrossValidatedTuner:
    """Mixed in first with --cv K: ``run_trial`` trains the K fold models in lockstep and scores the fold mean.

    Keras Tuner's documented extension point (override ``run_trial``, return the objective's value).
    Hyperband's ``epochs`` for the trial's round is honoured; each round trains from scratch, and
    an epoch whose fold-mean ``val_loss`` has not improved for ``patience`` epochs ends the trial,
    as the single-split search's EarlyStopping does.
    """

    _folds: list | None = None
    _patience: int = 0

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        if self._folds is None:
            return super().run_trial(trial, *args, **kwargs)
        import keras_tuner as kt

        from eeg.cv_training import LockstepFolds, fold_scores_of

        hparams = self.hypermodel.hparams(trial.hyperparameters)
        trainer = LockstepFolds(hparams, self._folds, seed=self._seed)
        self._current["setup_s"] = round(time.perf_counter() - self._current["started"], 3)
        epochs = int(kwargs.get("epochs", 1))
        best, best_loss, since_best = -math.inf, math.inf, 0
        while trainer.epoch < epochs:
            try:
                metrics = trainer.train_epoch()
            except NonFiniteLossError as error:
                raise kt.errors.FailedTrialError(f"{type(error).__name__}: {error}") from None
            self._current["history"].append(metrics["val_accuracy"])
            self._current["epochs"].append(trainer.epoch)
            self._current["folds"].append(fold_scores_of(metrics))
            self._current["last"] = metrics
            best = max(best, metrics["val_accuracy"])
            best_loss, since_best = (metrics["val_loss"], 0) if metrics["val_loss"] < best_loss else (best_loss,
                                                                                                      since_best + 1)
            if since_best > self._patience or (self._deadline is not None and time.monotonic() >= self._deadline):
                break
        return {"val_accuracy": best}


def build_tuner(algorithm: str, hypermodel: Any, *, directory: Path, max_trials: int, max_epochs: int, seed: int,
                deadline: float | None, folds: list | None = None, patience: int = 0, recordings: Any = None,
                cache_dir: str | None = None, space: Any = None) -> Any:
    """The Keras Tuner tuner for ``--tuning-algorithm``, reloading its project when one exists."""
    import keras_tuner as kt

    base = {"bayesian": kt.BayesianOptimization, "hyperband": kt.Hyperband, "random": kt.RandomSearch}[algorithm]
    tuner_class = type(f"Recording{base.__name__}", (_PipelineTuner, _CrossValidatedTuner, _RecordingTuner, base),
                       {"_folds": folds, "_patience": patience, "_seed": seed, "_recordings": recordings,
                        "_cache_dir": cache_dir, "_space": space})
    common = {
        "objective": kt.Objective("val_accuracy", "max"),
        "seed": seed,
        "directory": str(directory),
        "project_name": PROJECT_NAME,
        "overwrite": False,  # re-running the same command resumes (the guide's 8.3)
    }
    if algorithm == "hyperband":
        tuner = tuner_class(hypermodel, max_epochs=max_epochs, factor=_FACTOR, **common)
        # Cap Hyperband by --max-trials like the other two; iterations enough to reach it.
        tuner.oracle.max_trials = max_trials
        tuner.oracle.hyperband_iterations = max_trials
    else:
        tuner = tuner_class(hypermodel, max_trials=max_trials, **common)
        tuner.oracle.max_trials = max_trials  # a continued search may be given more trials
    tuner._start_recording(deadline)
    return tuner


def _read_history(tuner: Any, trial_id: str) -> dict[str, Any]:
    return read_json_object(Path(tuner.project_dir) / f"trial_{trial_id}" / HISTORY_FILE)


def tuner_records(tuner: Any, space: Any, max_epochs: int) -> list[TrialRecord]:
    """One :class:`engines.experiment.records.TrialRecord` per Keras Tuner trial (this run's and earlier runs')."""
    records = []
    for trial_id in sorted(tuner.oracle.trials):
        trial = tuner.oracle.trials[trial_id]
        values = trial.hyperparameters.values
        params = {name: values[name] for name in space.active_names(values) if name in values}
        saved = _read_history(tuner, trial_id)
        history = [float(v) for v in saved.get("val_accuracy_history", [])]
        reached = max(saved.get("epochs") or [int(values.get("tuner/initial_epoch", 0))])
        message = getattr(trial, "message", None)
        status = status_of_keras_tuner_trial(trial.status, reached, max_epochs, message)
        finite = [v for v in history if math.isfinite(v)]
        fold_history = saved.get("fold_val_accuracy_history") or []
        fold_scores, fold_std = fold_scores_at_best(history, [list(epoch) for epoch in zip(*fold_history)])
        score = trial.score if trial.score is not None and math.isfinite(trial.score) else None
        best = max(finite) if finite else score
        records.append(
            TrialRecord(
                trial_id=str(trial_id),
                params=params,
                status=status,
                best_val_accuracy=best if status not in ("failed", "diverged") else (max(finite) if finite else None),
                val_accuracy_history=history,
                fold_val_accuracy=fold_scores,
                val_accuracy_std=fold_std,
                val_loss=saved.get("val_loss"),
                accuracy=saved.get("accuracy"),
                loss=saved.get("loss"),
                epochs=len(history),
                node_id=saved.get("hostname"),
                hostname=saved.get("hostname"),
                wall_time_s=saved.get("wall_time_s"),
                setup_s=saved.get("setup_s"),
                latency_ms=saved.get("latency_ms"),
                n_params=saved.get("n_params"),
                failure_reason=failure_reason(message) if status in ("failed", "diverged") and message else None,
            )
        )
    return records


class KerasTunerBackend:
    """Keras Tuner's BayesianOptimization, Hyperband or RandomSearch on this machine."""

    method = "keras-tuner"
    on_existing = "continue"  # re-running the same command continues (the guide's 8.3)
    uses_storage = False  # --storage is Ray's
    same_on_resume = ("use_dummy_data", "data", "dataset", "label_rule", "split", "split_seed", "cv_folds", "seed", "space",
                      "max_epochs", "smoke_test", "tuning_algorithm")

    def check(self, settings: Settings) -> None:
        if settings.tuning_algorithm not in ALGORITHMS:
            raise InputError(f"--tuning-algorithm must be one of {', '.join(ALGORITHMS)}, "
                             f"got {settings.tuning_algorithm!r}")
        if settings.objective != "accuracy":
            raise InputError(f"--objective {settings.objective} runs with --method ray --searcher optuna "
                             "(OptunaSearch with a metric and a mode per objective) or --method optuna; --method keras-tuner tunes accuracy")
        note_ignored(settings, _IGNORED, "--method keras-tuner runs on this machine without Ray")

    def default_name(self, settings: Settings) -> str:
        # From the settings, not the clock: the same command finds the same Keras Tuner project.
        return fingerprinted_name(settings, "keras-tuner", settings.tuning_algorithm)

    def has_state(self, settings: Settings, paths: ExperimentPaths) -> bool:
        return (paths.local / "keras_tuner").exists()

    def translate(self, settings: Settings, space: Any) -> None:
        from eeg.training import import_tensorflow_quietly

        import_tensorflow_quietly()  # keras_tuner imports TensorFlow: without its C++ start-up lines
        import keras_tuner as kt

        from search_spaces.translate_keras_tuner import build_keras_tuner_hparams

        build_keras_tuner_hparams(kt.HyperParameters(), space)  # a space Keras Tuner cannot express fails here

    def already_done(self, settings: Settings, paths: ExperimentPaths) -> str | None:
        summary = read_summary(paths)
        if summary and summary.get("search_complete") and int(summary.get("max_trials", 0)) >= settings.max_trials:
            return already_finished_line(paths.name, summary["trials"], paths.local)
        return None

    session = staticmethod(no_session)

    def search(self, run: Run) -> SearchOutcome:
        from eeg.training import import_tensorflow_quietly

        import_tensorflow_quietly()
        import keras

        settings, paths = run.settings, run.paths
        prepared = run.data.prepared.without_test()
        deadline = time.monotonic() + settings.time_budget_s if settings.time_budget_s else None
        patience = early_stopping_patience(settings.grace_period)
        hypermodel = _hypermodel(run.space, prepared.input_shape, prepared.n_classes, seed=settings.seed,
                                 verbose=settings.verbose)
        tuner = build_tuner(settings.tuning_algorithm, hypermodel, directory=paths.local / "keras_tuner",
                            max_trials=settings.max_trials, max_epochs=settings.max_epochs, seed=settings.seed,
                            deadline=deadline, folds=run.data.folds, patience=patience,
                            recordings=run.data.recordings, cache_dir=settings.feature_cache, space=run.space)
        if settings.verbose == 1:
            tuner._lines = (settings.max_epochs, settings.max_trials, time.time())
        if tuner.oracle.trials:
            print(f"Continuing Keras Tuner project {tuner.project_dir}: {len(tuner.oracle.trials)} trials so far "
                  f"(--max-trials {settings.max_trials})", flush=True)
        else:
            print(f"Keras Tuner project {tuner.project_dir} (re-run the same command to continue it)", flush=True)
        started = time.perf_counter()
        stopped: BaseException | None = None
        fatal = None
        search_complete = False
        try:
            tuner.search(
                prepared.X_train,
                prepared.y_train,
                validation_data=(prepared.X_val, prepared.y_val),
                epochs=settings.max_epochs,
                callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)],
                verbose=1 if settings.verbose >= 2 else 0,  # its own table and trial numbering at --verbose 2 only
            )
            search_complete = True
        except _TimeBudgetSpent:
            pass
        except RuntimeError as error:
            if "consecutive failures" not in str(error):
                stopped = error
            else:  # Keras Tuner's own FatalError-like stop: too many failed trials in a row
                fatal = f"error: Keras Tuner stopped the search: {str(error).splitlines()[0]}"
        except BaseException as error:  # still write what finished, then let it through
            stopped = error
        run_wall_s = time.perf_counter() - started
        algorithm = settings.tuning_algorithm
        return SearchOutcome(
            records=tuner_records(tuner, run.space, settings.max_epochs),
            run_wall_s=run_wall_s,
            # One process runs the trials one after another: utilisation is the share of time spent inside them.
            utilisation=tuner.busy_s / run_wall_s if run_wall_s > 0 else None,
            finished=search_complete or (stopped is None and fatal is None and settings.time_budget_s is not None),
            metadata={"method": "keras-tuner", "searcher": algorithm,
                      "scheduler": "hyperband" if algorithm == "hyperband" else "early_stopping",
                      "early_stopping_patience": patience, "keras_tuner_project": str(tuner.project_dir)},
            study_names=[STUDY_NAME, paths.study_name],
            unfinished_line="Not finished: re-run the same command to continue it",
            summary_extra={"search_complete": search_complete},
            stopped=stopped,
            fatal=fatal,
        )
