"""What a search comes to: the experiment summary, what it is printed beside, the lines printed, the exit code.

Everything the outputs record is computed here, outside the experiment lock: the classical
baselines on the validation split (:func:`validation_context`) are fitted once the search has
ended, before the lock is taken, and handed to the writers as numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from engines.experiment.layout import STUDY_NAME
from engines.experiment.records import STATUSES, TrialRecord
from engines.experiment.settings import Settings

__all__ = ["ValidationContext", "validation_context", "summarise", "summary_lines", "exit_code"]


@dataclass(frozen=True)
class ValidationContext:
    """What every trial's score is printed beside: the validation split's baselines and its warnings."""

    majority_baseline: float
    chance: float
    baselines: list[dict[str, Any]] = field(default_factory=list)  # eeg.baselines.BaselineResult.as_dict()
    warnings: list[str] = field(default_factory=list)

    def as_summary(self) -> dict[str, Any]:
        """The keys summary.json keeps them under."""
        return {"val_majority_baseline": self.majority_baseline, "chance": self.chance,
                "val_baselines": self.baselines, "selection_warnings": self.warnings}


def validation_context(data: Any, seed: int) -> ValidationContext:
    """The majority and classical baselines on the validation split the trials were scored on, and its warnings.

    Validation only: the test split stays unread until ``train``/``verify``. The baselines' C is
    chosen on the same validation split, so their score is as optimistic as the best trial's. With
    ``--cv K`` the trials were scored on K folds: so are the baselines (their mean, C chosen on it).
    """
    from eeg.baselines import fit_baselines_on, fit_baselines_over_folds
    from eeg.errors import DataError
    from eeg.splits import majority_baseline, validation_warnings

    dataset, split = getattr(data, "dataset", None), getattr(data, "split", None)
    warnings = validation_warnings(dataset, split) if dataset is not None and split is not None else []
    folds = getattr(data, "folds", None)
    try:
        fitted = fit_baselines_over_folds(folds, seed=seed) if folds else fit_baselines_on(data.prepared, with_test=False,
                                                                                          seed=seed)
        baselines = [b.as_dict() for b in fitted]
    except (DataError, ValueError) as error:
        # A training split of one class, or features scikit-learn cannot take (values near float32's
        # largest overflow its float64 sums): the trials' own numbers, already searched for, still stand.
        baselines = []
        warnings.append(f"warning: classical baselines not fitted: {str(error).splitlines()[0][:200]}")
    prepared = data.prepared
    majority = (sum(majority_baseline(f.y_train, f.y_val) for f in folds) / len(folds) if folds
                else majority_baseline(prepared.y_train, prepared.y_val))
    return ValidationContext(majority, 1.0 / prepared.n_classes, baselines, warnings)


def summarise(
    records: Sequence[TrialRecord],
    settings: Settings,
    *,
    run_wall_s: float,
    utilisation: float | None,
    finished: bool,
    run_nodes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Counts, the best trial, epochs spent and worker utilisation.

    Args:
        records: every trial of the experiment (all runs, all workers).
        settings: the run's settings.
        run_wall_s: seconds this command spent searching.
        utilisation: the share of the workers' time spent inside trials, as the backend measures it.
        finished: whether the experiment is done (``--resume`` has nothing left to do).
        run_nodes: the nodes this command's trials ran on, where the backend knows them better than the records.
    """
    counts = {status: sum(r.status == status for r in records) for status in STATUSES}
    # A diverged config is unstable even if an epoch before its NaN scored well: never the one to recommend.
    scored = [r for r in records if r.status not in ("failed", "diverged") and r.best_val_accuracy is not None]
    best = max(scored, key=lambda r: r.best_val_accuracy) if scored else None
    front: list[TrialRecord] = []
    if getattr(settings, "objective", "accuracy") == "accuracy,latency":
        from engines.tune.pareto import knee, pareto_front

        front = pareto_front(records)  # the recommendation is the front's knee, not the most accurate trial
        best = knee(front) or best
    failures = [r.failure_reason for r in records if r.failure_reason]
    return {
        "name": settings.name,
        "trials": len(records),
        **counts,
        "finished": bool(finished),
        "max_trials": settings.max_trials,
        "epochs_spent": sum(r.epochs for r in records),
        "best_trial": best.trial_id if best else None,
        "best_val_accuracy": best.best_val_accuracy if best else None,
        # Which epoch the best score came from, of how many the trial ran (a score is its best epoch's, not its last).
        "best_epoch": _best_epoch(best.val_accuracy_history) if best else None,
        "best_trial_epochs": best.epochs if best else None,
        "best_params": best.params if best else None,
        # --cv K: best_val_accuracy is the fold mean; these say how far the folds spread around it.
        "cv_folds": getattr(settings, "cv_folds", None),
        "best_fold_val_accuracy": list(best.fold_val_accuracy) if best else [],
        "best_val_accuracy_std": best.val_accuracy_std if best else None,
        "run_wall_s": round(run_wall_s, 2),
        "worker_utilisation": round(utilisation, 3) if utilisation is not None else None,
        "nodes": sorted(run_nodes) if run_nodes is not None
        else sorted({node for r in records for node in (r.nodes or [r.node_id]) if node}),
        "retries": sum(r.retries for r in records),
        "mean_setup_s": round(sum(r.setup_s or 0 for r in records) / len(records), 3) if records else None,
        "first_failure": failures[0] if failures else None,
        "objective": getattr(settings, "objective", "accuracy"),
        "best_latency_ms": best.latency_ms if best else None,
        "pareto_front": [r.trial_id for r in front],
    }


def _best_epoch(history: Sequence[float]) -> int | None:
    finite = [(value, i) for i, value in enumerate(history) if value == value]
    return max(finite, key=lambda pair: (pair[0], -pair[1]))[1] + 1 if finite else None


def summary_lines(summary: dict[str, Any], *, best_file: Any, trials_table: Any, study_url: str,
                  unfinished_line: str, kept_real: Any = None) -> list[str]:
    """What a finished (or interrupted) search prints: the best trial beside its baselines, and where things are."""
    lines = []
    if summary["best_trial"] is not None:
        at_epoch = (f" at epoch {summary['best_epoch']} of {summary['best_trial_epochs']}"
                    if summary.get("best_epoch") and summary.get("best_trial_epochs") else "")
        lines.append(
            f"{'Knee trial' if summary.get('pareto_front') else 'Best trial'} {summary['best_trial']}: val_accuracy {summary['best_val_accuracy']:.1%}{at_epoch} "
            f"(validation majority baseline {summary['val_majority_baseline']:.1%}, chance {summary['chance']:.1%})"
            + (f"; mean of {summary['cv_folds']} folds, std {summary['best_val_accuracy_std']:.1%}"
               if summary.get("cv_folds") and summary.get("best_val_accuracy_std") is not None else "")
        )
        if summary.get("pareto_front"):
            lines.append(f"Pareto front (val_accuracy up, latency down): {len(summary['pareto_front'])} trials; the "
                         f"recommended trial is its knee, {summary['best_latency_ms']:.2f} ms a sequence "
                         f"(pareto_front.json beside best_hyperparameters.json)")
    lines.append(
        f"Trials: {summary['trials']} ({summary['complete']} complete, {summary['stopped_early']} stopped early, "
        f"{summary['failed']} failed after retries, {summary.get('diverged', 0)} diverged"
        f"{f', {running} running' if (running := summary['running']) else ''}); "
        f"retries: {summary.get('retries', 0)}; epochs spent: {summary['epochs_spent']}; nodes: {len(summary['nodes'])}; "
        f"worker utilisation: {summary['worker_utilisation'] or 0:.0%} over {summary['run_wall_s']:.0f} s"
    )
    folds = summary.get("cv_folds")  # --cv K: trials and baselines were scored on K folds
    where = f"the same {folds} folds (mean)" if folds else "the same validation split"
    this = f"these {folds} folds" if folds else "this validation split"
    if summary.get("val_baselines"):
        parts = ", ".join(f"{b['name']} {b['val_accuracy']:.1%}" for b in summary["val_baselines"])
        lines.append(f"Classical baselines on {where}: {parts} (their C chosen on it too); "
                     "`make verify` compares on the test split")
    lines += summary.get("selection_warnings") or []
    beaten = [b for b in summary.get("val_baselines") or []
              if summary["best_trial"] is not None and b["val_accuracy"] > summary["best_val_accuracy"]]
    if beaten:
        top = max(beaten, key=lambda b: b["val_accuracy"])
        lines.append(f"The {top['name']} ({top['val_accuracy']:.1%}) beat the best trial "
                     f"({summary['best_val_accuracy']:.1%}) on {this}: more trials or epochs may "
                     "close the gap, and `make verify` says whether it holds on the test split")
    if summary.get("workers"):
        lines.append(f"Study '{summary['study']}': {summary['trials']} trials from {summary['workers']} worker(s), "
                     f"{summary['trials_by_this_worker']} by this one")
    if best_file is not None and kept_real is not None:
        lines.append(f"Best hyperparameters: {best_file} (a --smoke-test result: {kept_real} keeps the full run's, "
                     "which `make train` and `make verify` read)")
    elif best_file is not None and summary["finished"]:
        lines.append(f"Best hyperparameters: {best_file}")
    elif best_file is not None:
        lines.append(f"Best so far: {best_file} (the experiment is not finished, so the output folder's "
                     "best_hyperparameters.json was left as it was)")
    lines.append(f"Trials table: {trials_table} (and .csv); Optuna study '{STUDY_NAME}' in {study_url}")
    if not summary["finished"]:
        lines.append(unfinished_line)
    elif best_file is not None and kept_real is None:
        lines.append("Next: `make report` draws the search, `make verify` compares the tuned and default "
                     "configurations on the test split, `make train` trains the final model")
    return lines


def exit_code(summary: dict[str, Any], *, interrupted: bool) -> tuple[int, str | None]:
    """0 when some trial finished; 130 when Ctrl-C cut trials short (resumable); else 1 and the line to print."""
    if interrupted:
        return 130, None
    if summary["trials"] == 0:
        return 1, "error: no trial ran (is --time-budget shorter than a trial's start-up?)"
    if summary["complete"] + summary["stopped_early"] == 0:
        if summary.get("diverged"):
            return 1, (f"error: no trial finished ({summary['failed']} failed, {summary['diverged']} diverged); "
                       f"first reason: {summary['first_failure']}")
        return 1, f"error: all {summary['trials']} trials failed; first reason: {summary['first_failure']}"
    return 0, None


