"""The trial record every backend produces, the experiment summary built from them, and the exit code."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from engines.layout import STUDY_NAME
from engines.settings import Settings

__all__ = ["TrialRecord", "STATUSES", "ENDED_WITH_RESULT", "failure_reason", "failed_or_diverged", "finite_or_none",
           "summarise", "summary_lines", "exit_code", "already_finished_line"]

# failed: errored after its retries (--resume retries it again); diverged: a NaN/Inf loss, deterministic, never retried.
STATUSES = ("complete", "stopped_early", "failed", "diverged", "running")
ENDED_WITH_RESULT = ("complete", "stopped_early", "diverged")  # what --resume does not run again
DIVERGED_ERROR = "NonFiniteLossError"  # eeg.training.check_finite's error, named in a trial's failure reason


@dataclass
class TrialRecord:
    """One trial, whatever method ran it."""

    trial_id: str
    params: dict[str, Any]
    status: str  # one of STATUSES
    best_val_accuracy: float | None = None
    val_accuracy_history: list[float] = field(default_factory=list)
    val_loss: float | None = None
    accuracy: float | None = None
    loss: float | None = None
    epochs: int = 0
    node_id: str | None = None
    hostname: str | None = None
    wall_time_s: float | None = None
    setup_s: float | None = None
    failure_reason: str | None = None
    retries: int = 0  # restarts after an error (node lost, worker crashed), each from the last checkpoint
    nodes: list[str] = field(default_factory=list)  # every node the trial ran on, in order


def failure_reason(error: BaseException | str | None) -> str | None:
    """The one line of a trial's error that says why (Ray and Keras Tuner wrap it in a long traceback)."""
    if error is None:
        return None
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error:" in line or "Exception:" in line:
            return line[:500]
    return (lines[-1] if lines else type(error).__name__)[:500]


def failed_or_diverged(reason: str | None) -> str:
    """The status of a trial that ended in an error: ``diverged`` when its loss went NaN/Inf, else ``failed``."""
    return "diverged" if reason and DIVERGED_ERROR in reason else "failed"


def finite_or_none(value: Any) -> float | None:
    """``value`` as a float when it is a finite number, else None."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def summarise(
    records: Sequence[TrialRecord],
    settings: Settings,
    *,
    run_wall_s: float,
    utilisation: float | None,
    finished: bool,
) -> dict[str, Any]:
    """Counts, the best trial, epochs spent and worker utilisation.

    Args:
        records: every trial of the experiment (all runs, all workers).
        settings: the run's settings.
        run_wall_s: seconds this command spent searching.
        utilisation: the share of the workers' time spent inside trials, as the backend measures it.
        finished: whether the experiment is done (``--resume`` has nothing left to do).
    """
    counts = {status: sum(r.status == status for r in records) for status in STATUSES}
    # A diverged config is unstable even if an epoch before its NaN scored well: never the one to recommend.
    scored = [r for r in records if r.status not in ("failed", "diverged") and r.best_val_accuracy is not None]
    best = max(scored, key=lambda r: r.best_val_accuracy) if scored else None
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
        "best_params": best.params if best else None,
        "run_wall_s": round(run_wall_s, 2),
        "worker_utilisation": round(utilisation, 3) if utilisation is not None else None,
        "nodes": sorted({node for r in records for node in (r.nodes or [r.node_id]) if node}),
        "retries": sum(r.retries for r in records),
        "mean_setup_s": round(sum(r.setup_s or 0 for r in records) / len(records), 3) if records else None,
        "first_failure": failures[0] if failures else None,
    }


def summary_lines(summary: dict[str, Any], *, best_file: Any, trials_table: Any, study_url: str,
                  unfinished_line: str) -> list[str]:
    """What a finished (or interrupted) search prints: the best trial beside its baselines, and where things are."""
    lines = []
    if summary["best_trial"] is not None:
        lines.append(
            f"Best trial {summary['best_trial']}: val_accuracy {summary['best_val_accuracy']:.1%} "
            f"(validation majority baseline {summary['val_majority_baseline']:.1%}, chance {summary['chance']:.1%})"
        )
    lines.append(
        f"Trials: {summary['trials']} ({summary['complete']} complete, {summary['stopped_early']} stopped early, "
        f"{summary['failed']} failed after retries, {summary.get('diverged', 0)} diverged"
        f"{f', {running} running' if (running := summary['running']) else ''}); "
        f"retries: {summary.get('retries', 0)}; epochs spent: {summary['epochs_spent']}; nodes: {len(summary['nodes'])}; "
        f"worker utilisation: {summary['worker_utilisation'] or 0:.0%} over {summary['run_wall_s']:.0f} s"
    )
    if summary.get("val_baselines"):
        parts = ", ".join(f"{b['name']} {b['val_accuracy']:.1%}" for b in summary["val_baselines"])
        lines.append(f"Classical baselines on the same validation split: {parts} (their C chosen on it too); "
                     "`make verify` compares on the test split")
    lines += summary.get("selection_warnings") or []
    if summary.get("workers"):
        lines.append(f"Study '{summary['study']}': {summary['trials']} trials from {summary['workers']} worker(s), "
                     f"{summary['trials_by_this_worker']} by this one")
    if best_file is not None and summary["finished"]:
        lines.append(f"Best hyperparameters: {best_file}")
    elif best_file is not None:
        lines.append(f"Best so far: {best_file} (the experiment is not finished, so the output folder's "
                     "best_hyperparameters.json was left as it was)")
    lines.append(f"Trials table: {trials_table} (and .csv); Optuna study '{STUDY_NAME}' in {study_url}")
    if not summary["finished"]:
        lines.append(unfinished_line)
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


def already_finished_line(name: str, trials: int, results: Any, detail: str = "") -> str:
    """What a command that has nothing left to do prints (exit 0)."""
    return f"Experiment '{name}' already finished ({trials} trials{detail}); nothing to resume. Results: {results}"
