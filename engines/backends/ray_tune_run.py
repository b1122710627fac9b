"""``--method ray`` (default): a Ray Tune experiment, on an embedded local Ray or a cluster (``--address``).

The dataset goes into the object store once (``tune.with_parameters``) without its test
split; every trial reports and checkpoints each epoch, so ``--resume`` continues an
experiment with ``Tuner.restore`` and errored trials restart from their last checkpoint.
An existing experiment is never continued without ``--resume``.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from eeg.errors import InputError
from engines.backends.base import Run, SearchOutcome
from engines.backends.ray_search import (
    METRIC, MODE, PAUSING_SCHEDULERS, build_scheduler, build_search, check_pairing, grid_size,
)
from engines.experiment.layout import STUDY_NAME, ExperimentPaths, read_summary, timestamped_name
from engines.experiment.records import (TrialRecord, already_finished_line, failure_reason, finite_or_none,
                                       fold_scores_at_best)
from engines.experiment.settings import Settings
from engines.experiment.storage import StorageError, check_storage, storage_answers

__all__ = ["RayTuneBackend", "collect_records", "private_auth_token", "saved_trials"]


@contextlib.contextmanager
def private_auth_token() -> Iterator[Path]:
    """Around ``ray.init``: Ray's token file ``~/.ray/auth_token`` is mode 600 in a 700 folder.

    A new embedded Ray writes the token it generates with the umask's mode (644: anyone on a shared
    machine could read it and submit jobs). The folder is made private first, so the file is never
    reachable by others, and the file 600 as soon as Ray has written it; one made earlier is secured too.
    Yields the token file's path.
    """
    token = Path.home() / ".ray" / "auth_token"
    with contextlib.suppress(OSError):  # a read-only home: Ray cannot write a token there either
        token.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(token.parent, 0o700)
    try:
        yield token
    finally:
        if token.is_file():
            os.chmod(token, 0o600)


def _trial_dirname(trial: Any) -> str:
    # Ray's default folder name spells out the whole config and gets too long for some filesystems.
    return f"trial_{trial.trial_id}"


def saved_trials(experiment_path: str) -> dict[str, dict[str, Any]]:
    """Trial id -> ``{"status", "retries", "time_total_s"}`` as Ray saved them in the experiment state.

    Read back from storage rather than from the ResultGrid: after Ctrl-C, Ray's in-memory
    trials are already cleaned up, while the saved state still says RUNNING, which is what
    ``--resume`` will continue. ``retries`` is Ray's count of the trial's failures, each of
    which restarted it from its last checkpoint (``--max-failures``).
    """
    from ray.tune import ExperimentAnalysis

    try:
        trials = ExperimentAnalysis(experiment_path).trials
    except (OSError, ValueError):  # not saved yet, or --storage stopped answering
        return {}
    return {t.trial_id: {"status": t.status, "retries": int(t.run_metadata.num_failures),
                         "time_total_s": float((t.last_result or {}).get("time_total_s") or 0.0)} for t in trials}


def _restarts(frame: Any) -> int:
    """How many times a trial started again from a checkpoint: its count of iterations since restore fell to 1."""
    if frame is None or "iterations_since_restore" not in frame or "training_iteration" not in frame:
        return 0
    return int(((frame["iterations_since_restore"] == 1) & (frame["training_iteration"] > 1)).sum())


def _nodes_in_order(frame: Any, metrics: Mapping[str, Any]) -> list[str]:
    """Every node a trial reported from, first seen first (a retried trial moves to a surviving node)."""
    reported = [] if frame is None or "node_id" not in frame else [str(n) for n in frame["node_id"] if n == n]
    if not reported and metrics.get("node_id"):
        reported = [str(metrics["node_id"])]
    return list(dict.fromkeys(reported))


def collect_records(
    grid: Any,
    space: Any,
    decode: Callable[[Mapping[str, Any]], dict] | None,
    max_epochs: int,
    saved: Mapping[str, Mapping[str, Any]] | None = None,
    pausing: bool = False,
) -> list[TrialRecord]:
    """One record per trial of a ResultGrid: active params only, metric history, status, node and timing.

    Args:
        saved: trial id -> Ray's saved status and retries, from :func:`saved_trials`; a trial
            saved as running or pending was interrupted and is recorded as ``running``.
        pausing: the scheduler pauses and resumes trials (HyperBand, BOHB), so a restart from a
            checkpoint is not always a retry; only Ray's failure count says then.
    """
    import math

    records = []
    for result in grid:
        trial_id = str((result.metrics or {}).get("trial_id") or result.path.rstrip("/").rsplit("/", 1)[-1])
        trial_id = trial_id.removeprefix("trial_")
        saved_trial = (saved or {}).get(trial_id) or {}
        ray_status = saved_trial.get("status")
        config = decode(result.config) if decode else dict(result.config)
        params = {name: config[name] for name in space.active_names(config) if name in config}
        metrics = result.metrics or {}
        frame = result.metrics_dataframe
        history = [] if frame is None or "val_accuracy" not in frame else [float(v) for v in frame["val_accuracy"]]
        epochs = int(metrics.get("training_iteration", len(history)) or 0)
        diverged = metrics.get("diverged")
        if diverged:
            status = "diverged"  # it ended itself, once: Ray saw no error and did not retry it
        elif result.error is not None:
            status = "failed"
        elif ray_status in ("RUNNING", "PENDING"):
            # Saved as running (Ray loads that back as PENDING): Ctrl-C or a crash cut it short.
            # PAUSED is not: HyperBand leaves the trials it dropped from a bracket paused at the end.
            status = "running"
        else:
            status = "complete" if epochs >= max_epochs else "stopped_early"
        finite = [v for v in history if math.isfinite(v)]
        fold_columns = sorted((c for c in (frame.columns if frame is not None else ()) if c.startswith("val_accuracy_fold_")),
                              key=lambda c: int(c.rsplit("_", 1)[1]))
        fold_scores, fold_std = fold_scores_at_best(history, [[float(v) for v in frame[c]] for c in fold_columns])
        records.append(
            TrialRecord(
                trial_id=trial_id,
                params=params,
                status=status,
                best_val_accuracy=max(finite) if finite else None,
                val_accuracy_history=history,
                fold_val_accuracy=fold_scores,
                val_accuracy_std=fold_std,
                val_loss=finite_or_none(metrics.get("val_loss")),
                accuracy=finite_or_none(metrics.get("accuracy")),
                loss=finite_or_none(metrics.get("loss")),
                epochs=epochs,
                node_id=metrics.get("node_id"),
                hostname=metrics.get("hostname"),
                wall_time_s=finite_or_none(metrics.get("time_total_s")),
                setup_s=finite_or_none(metrics.get("setup_s")),
                failure_reason=diverged or failure_reason(result.error),
                # Ray's own failure count is not carried across --resume; a restart from a checkpoint is.
                retries=max(int(saved_trial.get("retries", 0)), 0 if pausing else _restarts(frame)),
                nodes=_nodes_in_order(frame, metrics),
                cpus=finite_or_none(metrics.get("cpus")),
                gpus=finite_or_none(metrics.get("gpus")),
                latency_ms=finite_or_none(metrics.get("latency_ms")),
                n_params=int(metrics["n_params"]) if finite_or_none(metrics.get("n_params")) is not None else None,
            )
        )
    return records


class RayTuneBackend:
    """Ray Tune: searcher + scheduler over the cluster's CPU and GPU slots."""

    method = "ray"
    on_existing = "refuse"
    same_on_resume = (
        "use_dummy_data", "data", "dataset", "label_rule", "split", "split_seed", "cv_folds", "searcher", "scheduler",
        "max_trials", "max_epochs", "grace_period", "time_budget", "space", "seed", "checkpoint", "smoke_test",
        "cpus_per_trial", "gpus_per_trial", "memory_per_trial", "reuse_actors", "max_failures",
    )
    uses_storage = True

    def check(self, settings: Settings) -> None:
        check_pairing(settings.searcher, settings.scheduler, settings.checkpoint)
        if settings.objective != "accuracy" and settings.cv_folds:
            raise InputError(f"--objective {settings.objective} scores one validation split; --cv "
                             f"{settings.cv_folds} is for --objective accuracy")
        if settings.objective != "accuracy" and settings.searcher != "optuna":
            raise InputError(f"--objective {settings.objective} needs --searcher optuna (OptunaSearch takes a metric "
                             f"and a mode per objective), got --searcher {settings.searcher}")
        if settings.optuna_storage:
            raise InputError("--optuna-storage is for --method optuna (its parallel workers); Ray keeps its "
                             "experiment in --storage")
        check_storage(settings.storage)

    def default_name(self, settings: Settings) -> str:
        return timestamped_name(settings.searcher, settings.scheduler,
                                space="pipeline" if settings.space == "pipeline" else "cnn_lstm")

    def has_state(self, settings: Settings, paths: ExperimentPaths) -> bool:
        from ray import tune

        return tune.Tuner.can_restore(paths.ray) or (paths.local / "trials.parquet").exists()

    def translate(self, settings: Settings, space: Any) -> Any:
        return self._build_search(settings, space)

    @staticmethod
    def _build_search(settings: Settings, space: Any, live_study: tuple[str, str] | None = None) -> Any:
        from eeg.model import DEFAULT_HPARAMS

        return build_search(settings.searcher, space, max_trials=settings.max_trials, seed=settings.seed,
                            objective=settings.objective,
                            defaults=DEFAULT_HPARAMS, smoke_test=settings.smoke_test,
                            max_concurrent=settings.max_concurrent, live_study=live_study)

    def already_done(self, settings: Settings, paths: ExperimentPaths) -> str | None:
        if not settings.resume:
            return None  # an existing experiment was refused already
        summary = read_summary(paths)
        # Trials that errored after their retries run again (Ray's resume_errored); diverged ones do not.
        if summary and summary.get("finished") and not summary.get("failed"):
            return already_finished_line(paths.name, summary["trials"], paths.local)
        from ray import tune

        if not tune.Tuner.can_restore(paths.ray):
            raise InputError(f"--resume: no experiment named '{paths.name}' to resume at {paths.ray}")
        return None

    @contextlib.contextmanager
    def session(self, settings: Settings) -> Iterator[None]:
        """Connect to (or start) Ray first: a cluster that cannot be reached leaves nothing behind."""
        import ray

        if ray.is_initialized():
            self._check_fit(settings)
            yield
            return
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # inherited by local workers: keep TF's C++ chatter out
        if settings.verbose < 2:
            from engines.backends.ray_console import quiet_ray_logs
            from engines.backends.ray_worker_logs import uncoloured_prefix_in_files

            quiet_ray_logs()
            uncoloured_prefix_in_files()
        with private_auth_token():
            if settings.address:
                ray.init(address=settings.address, log_to_driver=True)
            else:
                # The embedded Ray listens on loopback only; token authentication stays as Ray sets it.
                ray.init(include_dashboard=False, _node_ip_address="127.0.0.1")
        if settings.verbose < 2:
            from engines.backends.ray_worker_logs import filter_termination_tracebacks

            filter_termination_tracebacks()
        try:
            self._check_fit(settings)  # before config.json: an impossible request writes nothing
            yield
        finally:
            ray.shutdown()

    def search(self, run: Run) -> SearchOutcome:
        import ray
        from ray import tune
        from ray.tune.search import Searcher

        from engines.backends.ray_console import TrialLines, header_line

        settings, paths = run.settings, run.paths
        search = run.translated
        if settings.searcher == "optuna" and not settings.resume:  # a resumed searcher keeps its own study
            # Built again now that results may be written: TPE keeps its study in the experiment's database.
            search = self._build_search(settings, run.space, live_study=(paths.optuna_url, paths.live_study_name))
        trainable = tune.with_resources(self._trainable(run, search.decode), self._resources(run, search.decode))
        total = grid_size(search.param_space) if settings.searcher == "grid" else settings.max_trials
        multi = settings.objective != "accuracy"
        if settings.resume:
            tuner = tune.Tuner.restore(paths.ray, trainable=trainable, resume_errored=True)
        else:
            tuner = tune.Tuner(
                trainable,
                param_space=search.param_space,
                tune_config=tune.TuneConfig(
                    # Several objectives: the searcher holds its metric list, the scheduler cuts on accuracy alone.
                    metric=None if multi else METRIC,
                    mode=None if multi else MODE,
                    search_alg=search.search_alg,
                    scheduler=build_scheduler(settings.scheduler, max_epochs=settings.max_epochs,
                                              grace_period=settings.grace_period,
                                              metric=(METRIC, MODE) if multi else None),
                    num_samples=search.num_samples,
                    # Random and grid carry --max-concurrent in their BasicVariantGenerator (Ray would warn here).
                    max_concurrent_trials=settings.max_concurrent if isinstance(search.search_alg, Searcher) else None,
                    time_budget_s=settings.time_budget_s,
                    reuse_actors=settings.reuse_actors,
                    trial_dirname_creator=_trial_dirname,
                ),
                run_config=tune.RunConfig(
                    name=paths.name,
                    storage_path=paths.storage,
                    checkpoint_config=tune.CheckpointConfig(
                        num_to_keep=2, checkpoint_score_attribute=METRIC, checkpoint_score_order=MODE
                    ),
                    failure_config=tune.FailureConfig(max_failures=settings.max_failures),
                    # --verbose 2 is Ray's own table and boxes; below it the tool's one line per trial.
                    verbose=2 if settings.verbose >= 2 else 0,
                    callbacks=[TrialLines(total, settings.max_epochs)] if settings.verbose == 1 else [],
                ),
            )
        cluster_cpus = float(ray.cluster_resources().get("CPU", 0.0))
        # A resumed experiment's trials carry the seconds of earlier runs: only this run's share counts here.
        earlier_s = {tid: saved["time_total_s"] for tid, saved in saved_trials(paths.ray).items()} \
            if settings.resume else {}
        if settings.verbose >= 1:
            print(header_line(trials=total, max_epochs=settings.max_epochs, searcher=settings.searcher,
                              scheduler=settings.scheduler, nodes=sum(n["Alive"] for n in ray.nodes()),
                              cpus=cluster_cpus, gpus=float(ray.cluster_resources().get("GPU", 0.0)),
                              max_concurrent=settings.max_concurrent, experiment=str(paths.local)), flush=True)
        started = time.time()
        engine = os.environ.get("RAY_AIR_NEW_OUTPUT")
        if settings.verbose < 2:
            # Ray's new output engine prints its experiment box and a TensorBoard hint at every verbosity.
            os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
        try:
            grid = tuner.fit()
        except OSError as error:  # Ray reads the experiment back from --storage at the end
            if not storage_answers(paths.ray):
                raise StorageError(f"--storage: {paths.ray} stopped answering during the search "
                                   f"({' '.join(str(error).split())[:300]})") from None
            # The storage is fine: this is another failure (a real one, exit 1); keep its traceback.
            try:
                os.getcwd()
                cause = "the failure is the one above"
            except FileNotFoundError:
                cause = "the folder the driver ran from was removed during the search"
            error.add_note(f"--storage {paths.ray} still answers: {cause}, not the storage")
            raise
        finally:  # this run's choice of output engine leaves no trace in the process
            if engine is None:
                os.environ.pop("RAY_AIR_NEW_OUTPUT", None)
            else:
                os.environ["RAY_AIR_NEW_OUTPUT"] = engine
        run_wall_s = time.time() - started
        records = collect_records(grid, run.space, search.decode, settings.max_epochs,
                                  saved=saved_trials(paths.ray),
                                  pausing=settings.scheduler in PAUSING_SCHEDULERS)
        # time_total_s already spans each trial's set-up (its clock starts when the trainable does).
        busy = sum(max(0.0, (r.wall_time_s or 0.0) - earlier_s.get(r.trial_id, 0.0))
                   for r in records) * settings.cpus_per_trial
        # Node ids are this cluster's: a resume on a new local Ray must not count the old one's as more nodes.
        this_cluster = {node["NodeID"] for node in ray.nodes()}
        run_nodes = sorted({n for r in records for n in (r.nodes or [r.node_id]) if n in this_cluster})
        running = any(r.status == "running" for r in records)
        # A searcher that says FINISHED (BayesOpt re-suggesting the same point past its patience) ends the search.
        exhausted = bool(getattr(search.search_alg, "exhausted", False)) and not running
        if exhausted and len(records) < settings.max_trials:
            print(f"The {settings.searcher} searcher ran out of suggestions after {len(records)} of "
                  f"{settings.max_trials} trials; the search ends here", flush=True)
        return SearchOutcome(
            records=records,
            run_wall_s=run_wall_s,
            utilisation=busy / (run_wall_s * cluster_cpus) if run_wall_s > 0 and cluster_cpus else None,
            run_nodes=run_nodes,
            finished=not running and (len(records) >= settings.max_trials or settings.time_budget_s is not None
                                      or settings.searcher == "grid" or exhausted),
            metadata={"method": "ray", "searcher": settings.searcher, "scheduler": settings.scheduler},
            study_names=[STUDY_NAME, paths.study_name],
            unfinished_line=f"Not finished: continue with --resume --name {paths.name}",
            interrupted=running,
        )

    @staticmethod
    def _trainable(run: Run, decode: Callable[[Mapping[str, Any]], dict] | None) -> Any:
        from ray import tune

        from trainables.cnn_lstm import train_cnn_lstm

        settings = run.settings
        common = dict(max_epochs=settings.max_epochs, seed=settings.seed, cpus_per_trial=settings.cpus_per_trial,
                      checkpoint=settings.checkpoint, decode=decode,
                      # A paused trial resumes from its last checkpoint: the pausing schedulers need one every epoch.
                      checkpoint_every=1 if settings.scheduler in PAUSING_SCHEDULERS else settings.checkpoint_every)
        if run.data.recordings is not None:  # --space pipeline: each trial makes its own features
            from trainables.pipeline import train_pipeline

            # The tuning recordings only; features go to each node's cache.
            return tune.with_parameters(train_pipeline, recordings=run.data.recordings,
                                        cache_dir=settings.feature_cache, **common)
        if run.data.folds is not None:  # --cv K: the fold models of a trial train in lockstep
            from trainables.cnn_lstm_cv import train_cnn_lstm_cv

            return tune.with_parameters(train_cnn_lstm_cv, folds=run.data.folds, **common)  # no test split in them
        # The tuner never sees the test split.
        return tune.with_parameters(train_cnn_lstm, data=run.data.prepared.without_test(), **common)

    def _check_fit(self, settings: Settings) -> None:
        """Refuse a trial no node can hold (InputError), after waiting if the cluster may still grow.

        ``--placement auto`` asks CPUs of every node and a GPU share of GPU nodes: refused only when
        neither fits; the GPU share it may give is kept for :meth:`_resources`.
        """
        import ray

        from engines.backends.ray_cluster_fit import TrialRequest, cluster_can_grow, wait_for_fit

        memory_text = None if settings.memory_per_trial is None else str(settings.memory_per_trial)
        auto = settings.placement == "auto"
        request = TrialRequest(cpus=settings.cpus_per_trial, gpus=0.0 if auto else settings.gpus_per_trial,
                               memory_bytes=settings.memory_bytes, memory_text=memory_text)
        if auto:
            from engines.backends.ray_placement import AUTO_GPU_SHARE, auto_placement_line

            self._auto_gpu_share, line = auto_placement_line(
                request, settings.gpus_per_trial or AUTO_GPU_SHARE, ray.nodes())
            if settings.verbose >= 1:
                print(line, flush=True)
            return
        # Given explicitly, --pending-timeout waits on any cluster (Ray's v1 autoscaler does not say it can grow).
        wait_for_fit(request, ray.nodes, can_grow=lambda: "pending_timeout" in settings.given or cluster_can_grow(),
                     timeout_s=settings.pending_timeout_s, timeout_text=str(settings.pending_timeout))

    def _resources(self, run: Run, decode: Callable[[Mapping[str, Any]], dict] | None) -> Any:
        """One request for every trial, or (``--placement auto``) a callable Ray asks per trial."""
        settings = run.settings
        if settings.placement == "auto":
            from engines.backends.ray_placement import AutoPlacement

            return AutoPlacement(cpus=settings.cpus_per_trial, gpu_share=getattr(self, "_auto_gpu_share", 0.0),
                                 input_shape=tuple(run.data.prepared.input_shape),
                                 n_classes=run.data.prepared.n_classes, decode=decode,
                                 memory_bytes=settings.memory_bytes)
        resources = {"cpu": settings.cpus_per_trial, "gpu": settings.gpus_per_trial}
        if settings.memory_bytes:
            resources["memory"] = settings.memory_bytes
        return resources
