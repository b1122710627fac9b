"""``--method optuna``: a native Optuna study (TPE + a pruner), the guide's "most advanced" method, on one
machine or as parallel workers (the guide's 8.2).

The study ``emotion_recognition_optuna:<name>`` lives in ``sqlite:///<output-dir>/tuning/optuna.db``
(or in ``--optuna-storage URL``) and *is* the experiment. As with Optuna's own
``create_study(load_if_exists=True)``, every process that names a study adds its
``--max-trials`` trials to it: N copies of one command started together (the guide's loop)
end with N x K trials in one study. Without ``--name`` the name is derived from the settings
that shape the search, so the guide's loop finds one study; with ``--name`` the copies share
that one. Each worker takes a number when it joins and samples with its own seed stream, and
TPE's constant liar keeps workers off the configurations others are running.

``--resume --name`` instead continues the study until it holds ``--max-trials`` finished trials
(complete, pruned or failed); it assumes the study's earlier workers have stopped: a trial a
stopped process left running is marked failed, does not count, and its config runs again.
Trials of a worker killed while others go on are failed by Optuna's heartbeat once stale.
After a worker's search the guide's fixed study ``emotion_recognition_optuna`` is rewritten from
the whole study under the experiment lock, so ``optuna.load_study`` shows the latest state.

The pruner follows ``--scheduler`` so the flag means the same early stopping on every method:
``asha`` (default) -> ``SuccessiveHalvingPruner`` (ASHA is asynchronous successive halving),
``hyperband`` -> ``HyperbandPruner``, ``median`` -> ``MedianPruner``, ``fifo`` -> no pruning.
None stops a trial before ``--grace-period`` epochs (Hyperband's smallest rung excepted).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
import warnings
import zlib
from pathlib import Path
from typing import Any

from eeg.errors import InputError
from eeg.training import NonFiniteLossError, check_finite
from engines.backends.base import RAY_ONLY, Run, SearchOutcome, hostname, no_session, note_ignored
from engines.experiment.layout import STUDY_NAME, ExperimentPaths, fingerprinted_name, locked
from engines.experiment.records import TrialRecord, already_finished_line, fold_scores_at_best, status_of_optuna_trial
from engines.experiment.settings import Settings

__all__ = ["OptunaBackend", "PRUNERS", "SEARCHER", "build_pruner", "study_records", "count_finished"]

SEARCHER = "tpe"
PRUNERS = {"asha": "successive_halving", "hyperband": "hyperband", "median": "median", "fifo": "none"}
_INTERRUPTED = "interrupted: the process running this trial stopped before it finished"
# Optuna's heartbeat: a RUNNING trial silent for the grace period belongs to a dead worker.
HEARTBEAT_S, HEARTBEAT_GRACE_S = 15, 120
# What this engine does not read: Ray's settings and Keras Tuner's algorithm (a note, not an error).
_IGNORED = (*RAY_ONLY, "tuning_algorithm")


def build_pruner(scheduler: str, *, max_epochs: int, grace_period: int) -> Any:
    """The Optuna pruner that matches the Ray ``--scheduler`` of the same name (same rungs, factor 3)."""
    import optuna

    grace = max(1, min(grace_period, max_epochs))
    if scheduler == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=grace, reduction_factor=3)
    if scheduler == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)
    if scheduler == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=grace)
    return optuna.pruners.NopPruner()


def _finished_states():
    from optuna.trial import TrialState

    return (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _interrupted(trial: Any) -> bool:
    # Failed with no reason: Optuna's heartbeat failed it because its worker died.
    return trial.state.name == "FAIL" and trial.user_attrs.get("failure_reason") in (None, _INTERRUPTED)


def count_finished(study: Any) -> int:
    """Trials that count toward --max-trials: complete, pruned or failed, but not cut short by a stopped process."""
    return sum(not _interrupted(t) for t in study.get_trials(deepcopy=False, states=_finished_states()))


def _retry_interrupted(study: Any) -> int:
    """Queue once more the config of every trial a stopped process cut short (Optuna's own retry pattern)."""
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    queued = 0
    for trial in trials:
        if _interrupted(trial) and trial.number not in retried and trial.params:
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
            queued += 1
    return queued


def epoch_scores(trial: Any) -> list[float]:
    """A trial's validation accuracy per epoch: what it reported to the pruner, or (several objectives, which
    Optuna's ``report`` does not take) what it kept in its ``val_accuracy_history`` attribute."""
    values = trial.intermediate_values
    if values:
        return [float(values.get(epoch, math.nan)) for epoch in range(1, max(values) + 1)]
    return [float(v) for v in trial.user_attrs.get("val_accuracy_history", [])]


def study_records(study: Any, max_epochs: int) -> list[TrialRecord]:
    """One :class:`engines.experiment.records.TrialRecord` per trial of ``study``, in trial order."""
    from optuna.trial import TrialState

    records = []
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        history = epoch_scores(trial)
        finite = [v for v in history if math.isfinite(v)]
        epochs = int(attrs.get("epochs", len(history)))
        reason = attrs.get("failure_reason") or (_INTERRUPTED if _interrupted(trial) else None)
        status = status_of_optuna_trial(trial.state.name, epochs, max_epochs, reason)
        best = max(finite) if finite else (trial.values[0] if trial.state == TrialState.COMPLETE else None)
        fold_history = attrs.get("fold_val_accuracy_history") or []
        fold_scores, fold_std = fold_scores_at_best(history, [list(epoch) for epoch in zip(*fold_history)])
        wall = attrs.get("wall_time_s")
        if wall is None and trial.duration is not None:
            wall = trial.duration.total_seconds()
        records.append(
            TrialRecord(
                trial_id=str(trial.number),
                params=dict(trial.params),
                status=status,
                best_val_accuracy=best,
                val_accuracy_history=history,
                fold_val_accuracy=fold_scores,
                val_accuracy_std=fold_std,
                val_loss=attrs.get("val_loss"),
                accuracy=attrs.get("accuracy"),
                loss=attrs.get("loss"),
                epochs=epochs,
                node_id=attrs.get("node_id"),
                hostname=attrs.get("hostname"),
                wall_time_s=wall,
                setup_s=attrs.get("setup_s"),
                failure_reason=reason if status in ("failed", "diverged") else None,
                latency_ms=attrs.get("latency_ms"),
                n_params=attrs.get("n_params"),
            )
        )
    return records


def _fail_running_trials(storage: Any, study_name: str) -> int:
    """--resume: mark trials the study's stopped workers left RUNNING as interrupted."""
    from optuna.trial import TrialState

    study_id = storage.get_study_id_from_name(study_name)
    stale = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        storage.set_trial_user_attr(trial_id, "failure_reason", _INTERRUPTED)
        storage.set_trial_state_values(trial_id, TrialState.FAIL)
    return len(stale)


def _register_worker(study: Any, remote: bool) -> tuple[int, int]:
    """Take the next worker number in the study; return it and this worker's sampler seed stream key.

    Numbers are taken under the experiment lock, so workers on one machine never share one.
    Across machines (``--optuna-storage``) two may take the same number at the same moment:
    the host and process id then keep their seed streams apart.
    """
    number = sum(key.startswith("worker:") for key in study.user_attrs)
    study.set_user_attr(f"worker:{number}", {"host": hostname(), "pid": os.getpid(), "started": time.time()})
    return number, (zlib.crc32(hostname().encode()) ^ os.getpid()) if remote else 0


def _sampler_seed(seed: int, worker: int, stream: int, earlier: int) -> int:
    """Worker 0 keeps --seed (offset by the trials already drawn, so a resumed TPE does not replay
    its first random picks); every other worker gets its own stream from NumPy's SeedSequence."""
    if worker == 0 and stream == 0:
        return seed + earlier
    import numpy as np

    return int(np.random.SeedSequence([seed, worker, stream, earlier]).generate_state(1)[0])


def _pruning_callback(trial: Any, hparams: dict[str, Any], *, several_objectives: bool = False) -> Any:
    """A Keras callback that reports each epoch to ``trial`` and stops training when the pruner says so.

    Training stops (``model.stop_training``) when the pruner prunes or the loss goes NaN/Inf;
    the objective raises ``optuna.TrialPruned`` or the :class:`eeg.training.NonFiniteLossError`
    once ``fit`` has returned, so Keras ends the fit cleanly.
    """
    import keras

    class PruneOnEpochEnd(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.best = -math.inf
            self.pruned: str | None = None
            self.diverged: NonFiniteLossError | None = None

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            epoch, last = epoch + 1, {name: float(value) for name, value in (logs or {}).items()}
            trial.set_user_attr("epochs", epoch)
            try:
                check_finite(last, epoch, hparams)
            except NonFiniteLossError as error:
                self.diverged, self.model.stop_training = error, True
                return
            for key in ("val_loss", "accuracy", "loss"):
                trial.set_user_attr(key, last[key])
            self.best = max(self.best, last["val_accuracy"])
            if several_objectives:  # Optuna's report and pruners take one objective: keep the curve, run on
                history = [*trial.user_attrs.get("val_accuracy_history", []), last["val_accuracy"]]
                trial.set_user_attr("val_accuracy_history", history)
                return
            trial.report(last["val_accuracy"], epoch)
            if trial.should_prune():
                self.pruned = f"pruned after epoch {epoch} (val_accuracy {last['val_accuracy']:.4f})"
                self.model.stop_training = True

    return PruneOnEpochEnd()


class _Objective:
    """Train one sampled config in one ``fit`` over every epoch; each epoch is reported, the pruner may stop it."""

    def __init__(self, space: Any, data: Any, *, max_epochs: int, seed: int, worker: int,
                 folds: list | None = None, recordings: Any = None, cache_dir: str | None = None,
                 several_objectives: bool = False) -> None:
        self.space, self.data, self.max_epochs, self.seed, self.worker = space, data, max_epochs, seed, worker
        self.folds = folds  # --cv K: one PreparedData per fold; the trial's score is the fold mean
        # --space pipeline: each trial cuts its own features from these (cached per machine in cache_dir).
        self.recordings, self.cache_dir = recordings, cache_dir
        # --objective accuracy,latency: each trial returns (best val_accuracy, latency_ms); nothing is pruned.
        self.several_objectives = several_objectives
        self.host = hostname()
        self.busy_s = 0.0

    def __call__(self, trial: Any) -> float | tuple[float, float]:
        started = time.perf_counter()
        try:
            accuracy = self._train(trial, started)
            return (accuracy, float(trial.user_attrs["latency_ms"])) if self.several_objectives else accuracy
        except BaseException as error:
            import optuna

            if not isinstance(error, optuna.TrialPruned):
                reason = _INTERRUPTED if isinstance(error, KeyboardInterrupt) else f"{type(error).__name__}: {error}"
                trial.set_user_attr("failure_reason", " ".join(reason.split())[:500])
            raise
        finally:
            elapsed = time.perf_counter() - started
            self.busy_s += elapsed
            trial.set_user_attr("wall_time_s", round(elapsed, 3))

    def _train(self, trial: Any, started: float) -> float:
        import keras
        import optuna

        from eeg.model import build_model, resolve_hparams
        from eeg.training import train_model
        from search_spaces.translate_optuna import suggest_optuna

        keras.backend.clear_session()  # the last trial's graph must not pile up
        trial.set_user_attr("node_id", self.host)
        trial.set_user_attr("hostname", self.host)
        trial.set_user_attr("worker", self.worker)
        from eeg.latency import keras_latency_ms

        params, data = suggest_optuna(trial, self.space), self.data
        if self.recordings is not None:
            family, params, data = self._pipeline_data(trial, params)
            if family != "cnn_lstm":
                return self._fit_classical(trial, family, params, data, started)
        hparams = resolve_hparams(params)
        if self.folds is not None:
            return self._train_folds(trial, hparams, started)
        keras.utils.set_random_seed(self.seed)
        model = build_model(hparams, data.input_shape, data.n_classes)
        trial.set_user_attr("latency_ms", keras_latency_ms(model, data.input_shape))
        trial.set_user_attr("n_params", int(model.count_params()))
        trial.set_user_attr("setup_s", round(time.perf_counter() - started, 3))
        pruning = _pruning_callback(trial, hparams, several_objectives=self.several_objectives)
        # Seeded as the Ray trainable seeds its first epoch: the same shuffles, epoch after epoch.
        train_model(hparams, data, epochs=self.max_epochs, model=model, seed=self.seed, callbacks=[pruning])
        if pruning.diverged is not None:
            raise pruning.diverged
        if pruning.pruned is not None:
            raise optuna.TrialPruned(pruning.pruned)
        return pruning.best

    def _pipeline_data(self, trial: Any, params: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
        """--space pipeline: the trial's family, that family's own parameters, and its features (cached)."""
        from search_spaces.pipeline import split_pipeline_config

        prep, family, own = split_pipeline_config(params)
        used = self.recordings.fitted(prep)
        data, cached = self.recordings.prepared(used, cache_dir=self.cache_dir)
        trial.set_user_attr("n_steps_used", used.n_steps)
        trial.set_user_attr("features_cached", cached)
        return family, own, data

    def _fit_classical(self, trial: Any, family: str, params: dict[str, Any], data: Any, started: float) -> float:
        """A classical family: fitted once, at its full resource (the pruner has nothing to compare per epoch)."""
        from eeg.classical import fit_classical
        from eeg.latency import sklearn_latency_ms, sklearn_parameter_count

        trial.set_user_attr("setup_s", round(time.perf_counter() - started, 3))
        model, accuracy, _ = fit_classical(family, params, data.X_train, data.y_train, data.X_val, data.y_val,
                                           seed=self.seed)
        trial.set_user_attr("latency_ms", sklearn_latency_ms(model, int(data.input_shape[-1])))
        trial.set_user_attr("n_params", sklearn_parameter_count(model))
        trial.set_user_attr("epochs", self.max_epochs)
        if self.several_objectives:
            trial.set_user_attr("val_accuracy_history", [accuracy] * self.max_epochs)
        else:
            for epoch in range(1, self.max_epochs + 1):  # its score at every step, as the Ray trainable reports it
                trial.report(accuracy, epoch)
        return accuracy

    def _train_folds(self, trial: Any, hparams: dict[str, Any], started: float) -> float:
        """--cv K: the fold models in lockstep (as the Ray trainable); the pruner sees the fold mean each epoch."""
        import optuna

        from eeg.cv_training import LockstepFolds, fold_scores_of

        trainer = LockstepFolds(hparams, self.folds, seed=self.seed)
        trial.set_user_attr("setup_s", round(time.perf_counter() - started, 3))
        best, fold_history = -math.inf, []
        while trainer.epoch < self.max_epochs:
            metrics = trainer.train_epoch()  # a NaN loss raises NonFiniteLossError: this trial fails alone
            fold_history.append(fold_scores_of(metrics))
            trial.set_user_attr("epochs", trainer.epoch)
            trial.set_user_attr("fold_val_accuracy_history", fold_history)
            for key in ("val_loss", "accuracy", "loss"):
                trial.set_user_attr(key, metrics[key])
            trial.report(metrics["val_accuracy"], trainer.epoch)
            best = max(best, metrics["val_accuracy"])
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {trainer.epoch} (fold-mean val_accuracy "
                                         f"{metrics['val_accuracy']:.4f})")
        return best


class _TrialLine:
    """A ``study.optimize`` callback: the same line per finished trial as a Ray run prints, with this worker's
    progress (trials it finished of those it owes, and the time)."""

    def __init__(self, owed: int, max_epochs: int) -> None:
        self.owed, self.max_epochs, self.done, self.started = owed, max_epochs, 0, time.time()

    def __call__(self, study: Any, trial: Any) -> None:
        import optuna

        from engines.experiment.console import sequential_trial_line

        self.done += 1
        scores = epoch_scores(trial)
        status = {optuna.trial.TrialState.FAIL: "error", optuna.trial.TrialState.PRUNED: "pruned"}.get(
            trial.state, "complete")
        print(sequential_trial_line(str(trial.number), status, scores, self.max_epochs, trial.user_attrs.get("hostname"),
                                    done=self.done, total=self.owed, started=self.started), flush=True)


def _storage(url: str, paths: ExperimentPaths) -> Any:
    """The study's RDB storage. Opening one creates its tables when they are missing, so parallel workers
    open it under the experiment lock: two creating the same SQLite schema at once collide."""
    import optuna

    # --optuna-storage is a database server, which serialises this itself (and no local folder is made for it).
    with locked(paths) if url == paths.optuna_url else contextlib.nullcontext(), warnings.catch_warnings():
        # Optuna flags heartbeat_interval experimental on every open; the heartbeat is what fails a dead worker's
        # trials (the guide's parallel workers), so it stays, and a user has nothing to act on in the warning.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url, heartbeat_interval=HEARTBEAT_S, grace_period=HEARTBEAT_GRACE_S,
            # Parallel workers share the SQLite file: wait for its write lock rather than fail at once.
            engine_kwargs={"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None,
        )


def _study_exists(url: str, paths: ExperimentPaths) -> bool:
    import optuna

    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return False  # asking would create the database: nothing is written before the input is known good
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return paths.study_name in optuna.get_all_study_names(storage=_storage(url, paths))
    except Exception as error:  # noqa: BLE001 - an unreachable or malformed URL is the user's input
        raise InputError(f"--optuna-storage: cannot open Optuna storage {url!r} ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''})") from None


class OptunaBackend:
    """Native Optuna on this machine; several copies share one study."""

    method = "optuna"
    on_existing = "continue"  # a worker joins the study (the guide's 8.2)
    uses_storage = False  # --storage is Ray's
    same_on_resume = ("use_dummy_data", "data", "dataset", "label_rule", "split", "split_seed", "cv_folds", "seed", "space",
                      "max_epochs", "smoke_test")

    def check(self, settings: Settings) -> None:
        if settings.scheduler not in PRUNERS:
            raise InputError(
                f"--method optuna: --scheduler picks Optuna's pruner ({', '.join(PRUNERS)}), got "
                f"{settings.scheduler!r}; BOHB runs on Ray: --method ray --searcher bohb --scheduler bohb"
            )
        if settings.objective != "accuracy":
            if settings.cv_folds:
                raise InputError(f"--objective {settings.objective} scores one validation split; --cv "
                                 f"{settings.cv_folds} is for --objective accuracy")
            if settings.scheduler != "fifo":
                print(f"note: --objective {settings.objective}: Optuna's pruners take one objective, so no trial is "
                      f"pruned (--scheduler {settings.scheduler} has no effect; TPE samples both objectives)",
                      flush=True)
        note_ignored(settings, _IGNORED, "--method optuna runs on this machine without Ray")

    def default_name(self, settings: Settings) -> str:
        # From the settings, not the clock: the copies of the guide's loop find one study.
        return fingerprinted_name(settings, "optuna-native", settings.scheduler)

    def has_state(self, settings: Settings, paths: ExperimentPaths) -> bool:
        return _study_exists(paths.study_url(settings.optuna_storage), paths)

    def translate(self, settings: Settings, space: Any) -> None:
        from search_spaces.translate_optuna import optuna_distributions

        optuna_distributions(space, dict.fromkeys(space.names))  # a space Optuna cannot express fails here

    def already_done(self, settings: Settings, paths: ExperimentPaths) -> str | None:
        if not settings.resume:
            return None  # a worker adds its trials
        import optuna

        url = paths.study_url(settings.optuna_storage)
        if not _study_exists(url, paths):
            raise InputError(f"--resume: experiment '{paths.name}' has no Optuna study '{paths.study_name}' in "
                             f"{settings.optuna_storage or paths.optuna_db}")
        done = count_finished(optuna.load_study(study_name=paths.study_name, storage=_storage(url, paths)))
        if done >= settings.max_trials:
            return already_finished_line(paths.name, done, paths.local, f", --max-trials {settings.max_trials}")
        return None

    session = staticmethod(no_session)

    def search(self, run: Run) -> SearchOutcome:
        import optuna

        from eeg.training import import_tensorflow_quietly

        import_tensorflow_quietly()
        from tensorflow.errors import ResourceExhaustedError

        settings, paths = run.settings, run.paths
        self._quiet(settings)
        url = paths.study_url(settings.optuna_storage)
        storage = _storage(url, paths)
        with locked(paths):  # workers on this machine take turns creating the study and taking a number
            several = settings.objective != "accuracy"
            directions = {"directions": ["maximize", "minimize"]} if several else {"direction": "maximize"}
            study = optuna.create_study(study_name=paths.study_name, storage=storage, load_if_exists=True,
                                        **directions)
            stale = _fail_running_trials(storage, paths.study_name) if settings.resume else 0
            earlier = len(study.get_trials(deepcopy=False))
            worker, stream = _register_worker(study, remote=bool(settings.optuna_storage))
            study.set_user_attr("max_epochs", settings.max_epochs)
        study = optuna.load_study(
            study_name=paths.study_name,
            storage=storage,
            # Constant liar: a running trial counts as a poor result, so parallel workers spread out.
            sampler=optuna.samplers.TPESampler(seed=_sampler_seed(settings.seed, worker, stream, earlier),
                                               multivariate=True, group=True, constant_liar=True),
            pruner=optuna.pruners.NopPruner() if several else build_pruner(
                settings.scheduler, max_epochs=settings.max_epochs, grace_period=settings.grace_period),
        )
        owed = max(0, settings.max_trials - count_finished(study)) if settings.resume else settings.max_trials
        retries = _retry_interrupted(study) if settings.resume and owed else 0
        if run.continuing or worker:
            what = "Continuing" if settings.resume else f"Worker {worker} joining"
            print(f"{what} study '{paths.study_name}': {count_finished(study)} trials finished, {owed} to run here"
                  f"{f' (first {retries} re-running configs a stopped process cut short)' if retries else ''}"
                  f"{f'; {stale} left running by a stopped process marked failed' if stale else ''}", flush=True)
        objective = _Objective(run.space, run.data.prepared.without_test(), max_epochs=settings.max_epochs,
                               seed=settings.seed, worker=worker, folds=run.data.folds,
                               recordings=run.data.recordings, cache_dir=settings.feature_cache,
                               several_objectives=several)
        started = time.perf_counter()
        stopped: BaseException | None = None
        try:
            if owed:
                study.optimize(
                    objective,
                    n_trials=owed,
                    timeout=settings.time_budget_s,
                    # A trial that fails this way fails alone; anything else stops the run (exit 1, --resume continues).
                    catch=(NonFiniteLossError, ResourceExhaustedError),
                    gc_after_trial=True,
                    callbacks=[_TrialLine(owed, settings.max_epochs)] if settings.verbose == 1 else None,
                )
        except BaseException as error:  # still write what finished, then let it through
            stopped = error
        run_wall_s = time.perf_counter() - started
        return self._outcome(study, run, worker, objective.busy_s, run_wall_s, stopped)

    def _outcome(self, study: Any, run: Run, worker: int, busy_s: float, run_wall_s: float,
                 stopped: BaseException | None) -> SearchOutcome:
        """The study as it stands now; read again under the experiment lock just before the outputs are written,
        so a worker that finishes earlier never overwrites what a later one wrote with older trials."""
        settings, paths = run.settings, run.paths
        records = study_records(study, settings.max_epochs)
        others_running = sum(r.status == "running" for r in records)
        mine = sum(t.user_attrs.get("worker") == worker for t in study.get_trials(deepcopy=False))
        workers = sum(key.startswith("worker:") for key in study.user_attrs)
        enough = count_finished(study) >= settings.max_trials if settings.resume else True
        if others_running:
            unfinished = (f"Still running: {others_running} trial(s) in other workers; the last worker to finish "
                          "rewrites these outputs")
        else:
            unfinished = f"Not finished: continue with --resume --name {paths.name}"
        return SearchOutcome(
            records=records,
            run_wall_s=run_wall_s,
            # One process runs its trials one after another: utilisation is the share of time spent inside them.
            utilisation=busy_s / run_wall_s if run_wall_s > 0 else None,
            finished=stopped is None and not others_running and (enough or settings.time_budget_s is not None),
            metadata={"method": "optuna", "searcher": SEARCHER, "scheduler": PRUNERS[settings.scheduler],
                      "study": paths.study_name},
            # The per-experiment study is the native one: rewrite only the guide's fixed name from it.
            study_names=[STUDY_NAME],
            unfinished_line=unfinished,
            summary_extra={"study": paths.study_name, "workers": workers, "worker": worker,
                           "trials_by_this_worker": mine},
            stopped=stopped,
            recollect=functools.partial(self._outcome, study, run, worker, busy_s, run_wall_s, stopped),
        )

    @staticmethod
    def _quiet(settings: Settings) -> None:
        import optuna

        # Optuna's INFO line repeats every parameter per trial: --verbose 2 keeps it, 1 prints the tool's line.
        optuna.logging.set_verbosity(optuna.logging.INFO if settings.verbose >= 2 else optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
