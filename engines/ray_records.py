"""Turn a Ray Tune ResultGrid into the shared :class:`TrialRecord` rows and write every output."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

from engines.results import (
    STUDY_NAME,
    TrialRecord,
    best_hyperparameters_document,
    optuna_storage_url,
    write_best_hyperparameters,
    write_json_atomic,
    write_optuna_study,
    write_trials_table,
)

__all__ = ["collect_records", "saved_trial_statuses", "summarise", "write_experiment_outputs", "failure_reason"]


def failure_reason(error: BaseException | None) -> str | None:
    """The one line of a trial's error that says why (Ray wraps it in a long traceback)."""
    if error is None:
        return None
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error:" in line or "Exception:" in line:
            return line[:500]
    return (lines[-1] if lines else type(error).__name__)[:500]


def saved_trial_statuses(experiment_path: str) -> dict[str, str]:
    """Trial id -> status as Ray saved it in the experiment state.

    Read back from storage rather than from the ResultGrid: after Ctrl-C, Ray's in-memory
    trials are already cleaned up, while the saved state still says RUNNING, which is what
    ``--resume`` will continue.
    """
    from ray.tune import ExperimentAnalysis

    try:
        return {trial.trial_id: trial.status for trial in ExperimentAnalysis(experiment_path).trials}
    except (FileNotFoundError, ValueError):
        return {}


def _float_or_none(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def collect_records(
    grid: Any,
    space: Any,
    decode: Callable[[Mapping[str, Any]], dict] | None,
    max_epochs: int,
    statuses: Mapping[str, str] | None = None,
) -> list[TrialRecord]:
    """One record per trial: active params only, metric history, status, node and timing.

    Args:
        statuses: trial id -> Ray status from :func:`saved_trial_statuses`; a trial saved as
            running or pending was interrupted and is recorded as ``running``.
    """
    records = []
    for result in grid:
        trial_id = str((result.metrics or {}).get("trial_id") or result.path.rstrip("/").rsplit("/", 1)[-1])
        trial_id = trial_id.removeprefix("trial_")
        ray_status = (statuses or {}).get(trial_id)
        config = decode(result.config) if decode else dict(result.config)
        params = {name: config[name] for name in space.active_names(config) if name in config}
        metrics = result.metrics or {}
        frame = result.metrics_dataframe
        history = [] if frame is None or "val_accuracy" not in frame else [float(v) for v in frame["val_accuracy"]]
        epochs = int(metrics.get("training_iteration", len(history)) or 0)
        if result.error is not None:
            status = "failed"
        elif ray_status in ("RUNNING", "PENDING"):
            # Saved as running (Ray loads that back as PENDING): Ctrl-C or a crash cut it short.
            # PAUSED is not: HyperBand leaves the trials it dropped from a bracket paused at the end.
            status = "running"
        else:
            status = "complete" if epochs >= max_epochs else "stopped_early"
        finite = [v for v in history if math.isfinite(v)]
        records.append(
            TrialRecord(
                trial_id=trial_id,
                params=params,
                status=status,
                best_val_accuracy=max(finite) if finite else None,
                val_accuracy_history=history,
                val_loss=_float_or_none(metrics.get("val_loss")),
                accuracy=_float_or_none(metrics.get("accuracy")),
                loss=_float_or_none(metrics.get("loss")),
                epochs=epochs,
                node_id=metrics.get("node_id"),
                hostname=metrics.get("hostname"),
                wall_time_s=_float_or_none(metrics.get("time_total_s")),
                setup_s=_float_or_none(metrics.get("setup_s")),
                failure_reason=failure_reason(result.error),
            )
        )
    return records


def summarise(
    records: Sequence[TrialRecord], settings: Mapping[str, Any], *, run_wall_s: float, cluster_cpus: float
) -> dict[str, Any]:
    """Counts, the best trial, epochs spent and worker utilisation (busy CPU-seconds / available)."""
    counts = {status: sum(r.status == status for r in records) for status in ("complete", "stopped_early", "failed", "running")}
    scored = [r for r in records if r.status != "failed" and r.best_val_accuracy is not None]
    best = max(scored, key=lambda r: r.best_val_accuracy) if scored else None
    # time_total_s already spans the trial's set-up (its clock starts when the trainable does).
    busy = sum(r.wall_time_s or 0.0 for r in records) * float(settings["cpus_per_trial"])
    failures = [r.failure_reason for r in records if r.failure_reason]
    nodes = sorted({r.node_id for r in records if r.node_id})
    return {
        "name": settings["name"],
        "trials": len(records),
        **counts,
        "finished": counts["running"] == 0 and (len(records) >= settings["max_trials"] or bool(settings.get("time_budget_s"))
                                                 or settings["searcher"] == "grid"),
        "epochs_spent": sum(r.epochs for r in records),
        "best_trial": best.trial_id if best else None,
        "best_val_accuracy": best.best_val_accuracy if best else None,
        "best_params": best.params if best else None,
        "run_wall_s": round(run_wall_s, 2),
        "worker_utilisation": round(busy / (run_wall_s * cluster_cpus), 3) if run_wall_s > 0 and cluster_cpus else None,
        "nodes": nodes,
        "mean_setup_s": round(sum(r.setup_s or 0 for r in records) / len(records), 3) if records else None,
        "first_failure": failures[0] if failures else None,
    }


def _distributions_for(space: Any) -> Callable[[Mapping[str, Any]], dict]:
    from search_spaces.translate_optuna import optuna_distributions

    return lambda params: optuna_distributions(space, params)


def write_experiment_outputs(
    records: Sequence[TrialRecord],
    summary: dict[str, Any],
    settings: Mapping[str, Any],
    paths: Any,
    space: Any,
    data: Any,
    *,
    method: str = "ray",
    study_names: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
    resume_hint: str | None = None,
) -> dict[str, Any]:
    """Trials table, Optuna studies, best_hyperparameters.json, summary.json; then say where they are.

    Every method (Ray, native Optuna, Keras Tuner) writes through here, so their outputs match.

    Args:
        records: one record per trial of the experiment.
        summary: from :func:`summarise` (utilisation and ``finished`` as the method measures them).
        settings: the validated settings (searcher, scheduler, seeds, split, ...).
        paths: the experiment's :class:`engines.ray_experiment.ExperimentPaths`.
        space: the search space the trials came from.
        data: the experiment's :class:`engines.data.ExperimentData`.
        method: ``ray``, ``optuna`` or ``keras-tuner``.
        study_names: Optuna studies to rewrite (default: the guide's name and the per-experiment one).
        extra: more metadata for best_hyperparameters.json and summary.json.
        resume_hint: how to continue an unfinished experiment.

    Returns:
        The summary written to ``summary.json``.
    """
    from eeg.splits import majority_baseline

    parquet, _ = write_trials_table(records, paths.local)
    storage_url = optuna_storage_url(paths.output_dir.resolve())
    names = list(study_names) if study_names is not None else [STUDY_NAME, f"{STUDY_NAME}:{paths.name}"]
    write_optuna_study(records, storage_url, names, _distributions_for(space))
    val_baseline = majority_baseline(data.prepared.y_train, data.prepared.y_val)
    chance = 1.0 / data.prepared.n_classes
    summary = {**summary, "method": method, "val_majority_baseline": val_baseline, "chance": chance, **dict(extra or {})}
    utilisation = summary.get("worker_utilisation")
    lines = [
        f"Trials: {summary['trials']} ({summary['complete']} complete, {summary['stopped_early']} stopped early, "
        f"{summary['failed']} failed); epochs spent: {summary['epochs_spent']}; nodes: {len(summary['nodes'])}; "
        f"worker utilisation: {utilisation or 0:.0%} over {summary['run_wall_s']:.0f} s"
    ]
    if summary["best_trial"] is not None:
        document = best_hyperparameters_document(
            summary["best_params"],
            {
                "best_score": round(summary["best_val_accuracy"], 4),
                "metric": "val_accuracy",
                "val_majority_baseline": round(val_baseline, 4),
                "chance": round(chance, 4),
                "method": method,
                "searcher": settings["searcher"],
                "scheduler": settings["scheduler"],
                "trials": summary["trials"],
                "max_epochs": settings["max_epochs"],
                "seed": settings["seed"],
                "data": data.description,
                "split": settings["split"],
                "split_seed": settings["split_seed"],
                "experiment": str(paths.local),
                **dict(extra or {}),
            },
        )
        best_file = write_best_hyperparameters(paths.output_dir, paths.local, document)
        lines.insert(
            0,
            f"Best trial {summary['best_trial']}: val_accuracy {summary['best_val_accuracy']:.1%} "
            f"(validation majority baseline {val_baseline:.1%}, chance {chance:.1%})",
        )
        lines.append(f"Best hyperparameters: {best_file}")
    write_json_atomic(paths.summary_file, summary)
    lines.append(f"Trials table: {parquet} (and .csv); Optuna study '{STUDY_NAME}' in {storage_url}")
    if not summary["finished"]:
        lines.append(f"Not finished: continue with {resume_hint or f'--resume --name {paths.name}'}")
    print("\n".join(lines), flush=True)
    return summary
