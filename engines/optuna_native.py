"""``--method optuna``: a native Optuna study (TPE + a pruner), the seed's "most advanced" method.

The study ``emotion_recognition_optuna:<name>`` lives in ``sqlite:///<output-dir>/tuning/optuna.db``
and *is* the experiment: ``--resume --name`` loads it and runs trials until it holds
``--max-trials`` finished ones (complete, pruned or failed). Finished trials are never re-run;
a trial cut short by Ctrl+C or a killed process is marked failed, does not count, and its
config is queued to run again on resume (one process per study). After the search the
guide's fixed study ``emotion_recognition_optuna`` is rewritten from the trials table, as the
Ray engine does, so the guide's ``optuna.load_study`` shows the latest run.

The pruner follows ``--scheduler`` so the flag means the same early stopping on every method:
``asha`` (default) -> ``SuccessiveHalvingPruner`` (ASHA is asynchronous successive halving),
``hyperband`` -> ``HyperbandPruner``, ``median`` -> ``MedianPruner``, ``fifo`` -> no pruning.
None stops a trial before ``--grace-period`` epochs (Hyperband's smallest rung excepted).
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

from eeg.training import NonFiniteLossError, check_finite
from engines.single_machine import (
    SingleMachineRun,
    exit_code,
    finished_summary,
    hostname,
    start_experiment,
    write_single_machine_outputs,
)

__all__ = ["run_optuna", "build_pruner", "study_records", "PRUNERS"]

SEARCHER = "tpe"
PRUNERS = {"asha": "successive_halving", "hyperband": "hyperband", "median": "median", "fifo": "none"}
_INTERRUPTED = "interrupted: the process running this trial stopped before it finished"


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
    return trial.user_attrs.get("failure_reason") == _INTERRUPTED


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


def study_records(study: Any, max_epochs: int) -> list[Any]:
    """One :class:`engines.results.TrialRecord` per trial of ``study``, in trial order."""
    from optuna.trial import TrialState

    from engines.results import TrialRecord

    records = []
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        history = [float(trial.intermediate_values[step]) for step in sorted(trial.intermediate_values)]
        finite = [v for v in history if math.isfinite(v)]
        epochs = int(attrs.get("epochs", len(history)))
        if trial.state == TrialState.COMPLETE:
            status = "complete" if epochs >= max_epochs else "stopped_early"
        elif trial.state == TrialState.PRUNED:
            status = "stopped_early"
        elif trial.state == TrialState.FAIL:
            status = "failed"
        else:
            status = "running"
        best = max(finite) if finite else (trial.value if trial.state == TrialState.COMPLETE else None)
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
                val_loss=attrs.get("val_loss"),
                accuracy=attrs.get("accuracy"),
                loss=attrs.get("loss"),
                epochs=epochs,
                node_id=attrs.get("node_id"),
                hostname=attrs.get("hostname"),
                wall_time_s=wall,
                setup_s=attrs.get("setup_s"),
                failure_reason=attrs.get("failure_reason") if status == "failed" else None,
            )
        )
    return records


def _fail_stale_trials(storage: Any, study_name: str) -> int:
    """Mark trials a killed process left RUNNING as failed (one process per study is the rule here)."""
    from optuna.trial import TrialState

    study_id = storage.get_study_id_from_name(study_name)
    stale = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        storage.set_trial_user_attr(trial_id, "failure_reason", _INTERRUPTED)
        storage.set_trial_state_values(trial_id, TrialState.FAIL)
    return len(stale)


class _Objective:
    """Train one sampled config epoch by epoch, report each epoch, let the pruner stop it."""

    def __init__(self, space: Any, data: Any, *, max_epochs: int, seed: int) -> None:
        self.space, self.data, self.max_epochs, self.seed = space, data, max_epochs, seed
        self.host = hostname()
        self.busy_s = 0.0

    def __call__(self, trial: Any) -> float:
        started = time.perf_counter()
        try:
            return self._train(trial, started)
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
        hparams = resolve_hparams(suggest_optuna(trial, self.space))
        keras.utils.set_random_seed(self.seed)
        model = build_model(hparams, self.data.input_shape, self.data.n_classes)
        trial.set_user_attr("setup_s", round(time.perf_counter() - started, 3))
        best = -math.inf
        for epoch in range(1, self.max_epochs + 1):
            # One epoch per call, seeded per epoch: the same shuffles as the Ray trainable.
            model, history = train_model(hparams, self.data, epochs=epoch, initial_epoch=epoch - 1, model=model,
                                         seed=self.seed)
            last = {name: values[-1] for name, values in history.items()}
            trial.set_user_attr("epochs", epoch)
            check_finite(last, epoch, hparams)
            for key in ("val_loss", "accuracy", "loss"):
                trial.set_user_attr(key, float(last[key]))
            trial.report(float(last["val_accuracy"]), epoch)
            best = max(best, float(last["val_accuracy"]))
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch} (val_accuracy {last['val_accuracy']:.4f})")
        return best


def run_optuna(run: SingleMachineRun) -> int:
    """Create or load the study, run the trials still owed, write every output. Returns the exit code."""
    import optuna
    from tensorflow.errors import ResourceExhaustedError

    from engines.data import prepare_experiment_data
    from engines.results import STUDY_NAME, optuna_storage_url

    settings, paths = run.settings, run.paths
    study_name = f"{STUDY_NAME}:{paths.name}"
    storage_url = optuna_storage_url(paths.output_dir.resolve())
    database = paths.output_dir.resolve() / "tuning" / "optuna.db"
    optuna.logging.set_verbosity(optuna.logging.INFO if int(settings["verbose"]) >= 1 else optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # Refusals first: nothing may be written before the input is known to be good.
    known = set(optuna.study.get_all_study_names(storage=storage_url)) if database.is_file() else set()
    if run.continuing and study_name not in known:
        from eeg.errors import InputError

        raise InputError(f"--resume: experiment '{paths.name}' has no Optuna study '{study_name}' in {database}")
    if not run.continuing and study_name in known:
        from eeg.errors import InputError

        raise InputError(f"--name: an Optuna study '{study_name}' already exists in {database}; pass --resume "
                         "to continue it or choose another --name (nothing was overwritten)")
    if run.continuing and finished_summary(paths) is not None:
        done = count_finished(optuna.load_study(study_name=study_name, storage=storage_url))
        if done >= settings["max_trials"]:
            print(f"Experiment '{paths.name}' already finished ({done} trials, --max-trials {settings['max_trials']}); "
                  f"nothing to resume. Results: {paths.local}")
            return 0
    from search_spaces.translate_optuna import optuna_distributions

    optuna_distributions(run.space, dict.fromkeys(run.space.names))  # a space Optuna cannot express fails here
    data = prepare_experiment_data(settings)
    print(data.description, flush=True)

    # Past this point the input is valid: results may be written.
    start_experiment(run, data)
    storage = optuna.storages.RDBStorage(storage_url)
    stale = _fail_stale_trials(storage, study_name) if run.continuing else 0
    earlier = len(optuna.load_study(study_name=study_name, storage=storage).trials) if run.continuing else 0
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="maximize",
        # Offset by the trials already drawn, so a resumed TPE does not replay its first random picks.
        sampler=optuna.samplers.TPESampler(seed=int(settings["seed"]) + earlier, multivariate=True, group=True),
        pruner=build_pruner(settings["scheduler"], max_epochs=settings["max_epochs"],
                            grace_period=settings["grace_period"]),
        load_if_exists=True,
    )
    study.set_user_attr("max_epochs", settings["max_epochs"])
    done = count_finished(study)
    owed = max(0, settings["max_trials"] - done)
    retries = _retry_interrupted(study) if owed else 0
    if run.continuing:
        print(f"Continuing study '{study_name}': {done} trials finished, {owed} to run"
              f"{f' (first {retries} re-running configs a stopped process cut short)' if retries else ''}"
              f"{f'; {stale} left running by a killed process marked failed' if stale else ''}", flush=True)
    objective = _Objective(run.space, data.prepared.without_test(), max_epochs=settings["max_epochs"],
                           seed=int(settings["seed"]))
    run_started = time.perf_counter()
    stopped: BaseException | None = None
    try:
        if owed:
            study.optimize(
                objective,
                n_trials=owed,
                timeout=settings["time_budget_s"],
                # A trial that fails this way fails alone; anything else stops the run (exit 1, --resume continues).
                catch=(NonFiniteLossError, ResourceExhaustedError),
                gc_after_trial=True,
            )
    except BaseException as error:  # still write what finished, then let it through
        stopped = error
    run_wall_s = time.perf_counter() - run_started
    records = study_records(study, settings["max_epochs"])
    finished_count = count_finished(study)
    summary = write_single_machine_outputs(
        records, run, data,
        run_wall_s=run_wall_s,
        busy_s=objective.busy_s,
        finished=stopped is None and (finished_count >= settings["max_trials"] or bool(settings["time_budget_s"])),
        searcher=SEARCHER,
        scheduler=PRUNERS[settings["scheduler"]],
        # The per-experiment study is the native one: rewrite only the guide's fixed name from it.
        study_names=[STUDY_NAME],
        extra={"study": study_name},
    )
    if stopped is not None:
        raise stopped
    return exit_code(summary)
