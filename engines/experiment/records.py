"""The trial record every backend produces, and the one mapping from each engine's trial states to its status."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TrialRecord", "fold_scores_at_best", "STATUSES", "OPTUNA_STATES", "failure_reason", "failed_or_diverged", "finite_or_none",
           "status_by_epochs", "status_of_optuna_trial", "status_of_ray_trial", "status_of_keras_tuner_trial",
           "already_finished_line"]

# failed: errored after its retries (--resume retries it again); diverged: a NaN/Inf loss, deterministic, never retried.
STATUSES = ("complete", "stopped_early", "failed", "diverged", "running")
# A status as an Optuna trial state, for the studies every method writes (engines.tune.outputs).
OPTUNA_STATES = {"complete": "COMPLETE", "stopped_early": "COMPLETE", "failed": "FAIL", "diverged": "FAIL",
                 "running": "FAIL"}
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
    cpus: float | None = None  # what Ray gave the trial (--placement auto: its config decides)
    gpus: float | None = None
    # Prediction cost of the configuration (eeg.latency): ms per sequence on the trial's threads, and its size.
    latency_ms: float | None = None
    n_params: int | None = None
    # --cv K: each fold's validation accuracy at the epoch of the best fold mean, and their standard deviation.
    fold_val_accuracy: list[float] = field(default_factory=list)
    val_accuracy_std: float | None = None


def fold_scores_at_best(history: list[float], fold_histories: list[list[float]]) -> tuple[list[float], float | None]:
    """Each fold's score at the epoch where the fold mean (``history``) peaked, and their standard deviation."""
    finite = [(v, i) for i, v in enumerate(history) if math.isfinite(v)]
    if not finite or not fold_histories:
        return [], None
    best_epoch = max(finite)[1]
    scores = [float(fold[best_epoch]) for fold in fold_histories if best_epoch < len(fold)]
    if not scores:
        return [], None
    mean = sum(scores) / len(scores)
    return scores, math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))


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


def status_by_epochs(epochs: int, max_epochs: int) -> str:
    """A trial that ended without an error: ``complete`` after every epoch, else ``stopped_early``."""
    return "complete" if epochs >= max_epochs else "stopped_early"


def status_of_optuna_trial(state: str, epochs: int, max_epochs: int, reason: str | None) -> str:
    """The status of an Optuna trial in ``state`` (``TrialState.name``) after ``epochs`` epochs.

    ``reason`` is its failure reason, which tells a diverged trial from a failed one.
    """
    if state == "COMPLETE":
        return status_by_epochs(epochs, max_epochs)
    if state == "PRUNED":
        return "stopped_early"
    if state == "FAIL":
        return failed_or_diverged(reason)
    return "running"  # RUNNING or WAITING


def status_of_keras_tuner_trial(status: str, epochs: int, max_epochs: int, message: str | None) -> str:
    """The status of a Keras Tuner trial in ``status`` (``TrialStatus``) that reached epoch ``epochs``.

    A completed trial short of ``max_epochs`` stopped early (early stopping, a Hyperband rung, the time budget).
    """
    if status == "COMPLETED":
        return status_by_epochs(epochs, max_epochs)
    if status in ("FAILED", "INVALID"):
        return failed_or_diverged(message)
    return "running"


def status_of_ray_trial(ray_status: str | None, epochs: int, max_epochs: int, *, errored: bool = False,
                        diverged: bool = False) -> str:
    """The status of a Ray Tune trial that Ray saved as ``ray_status`` (None: not saved yet).

    A trial saved as RUNNING (Ray loads that back as PENDING) was cut short by Ctrl-C or a crash,
    unless it had reported every epoch; PAUSED is not: HyperBand leaves the trials it dropped
    from a bracket paused at the end.
    """
    if diverged:
        return "diverged"  # it ended itself, once: Ray saw no error and did not retry it
    if errored or ray_status == "ERROR":
        return "failed"
    if ray_status in ("RUNNING", "PENDING", None) and epochs < max_epochs:
        return "running"
    return status_by_epochs(epochs, max_epochs)


def already_finished_line(name: str, trials: int, results: Any, detail: str = "") -> str:
    """What a command that has nothing left to do prints (exit 0)."""
    return f"Experiment '{name}' already finished ({trials} trials{detail}); nothing to resume. Results: {results}"
