"""The console lines every method prints at the default verbosity: one per finished trial, and the progress.

Ray Tune (``engines.backends.ray_console``) and native Optuna print the same line, so a user reads
one format whichever method ran: the trial, its best score and the epoch it came from, how many epochs
it ran and whether it was stopped early, its node; then trials done / running / left and the time.
"""

from __future__ import annotations

import math
import time

__all__ = ["trial_line", "progress_text", "sequential_trial_line"]


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def progress_text(done: int, running: int, total: int, elapsed_s: float) -> str:
    """``3/8 done, 2 running, 3 left; 0:42 elapsed, about 1:10 left`` (no estimate before a trial ends)."""
    left = max(total - done - running, 0)
    text = f"{done}/{total} done, {running} running, {left} left; {_clock(elapsed_s)} elapsed"
    if 0 < done < total:
        text += f", about {_clock(elapsed_s / done * (total - done))} left"
    return text


def trial_line(trial_id: str, status: str, scores: list[float], max_epochs: int, node: str | None) -> str:
    """``trial 48b75fbe  val_accuracy 72.9% at epoch 6/6  complete  node 127.0.0.1``."""
    if scores and not all(math.isnan(s) for s in scores):
        best = max(range(len(scores)), key=lambda i: -math.inf if math.isnan(scores[i]) else scores[i])
        score = f"val_accuracy {scores[best]:.1%} at epoch {best + 1}/{len(scores)}"
    else:
        score = "no score"
    if status == "error":
        outcome = "failed"
    elif len(scores) < max_epochs:
        outcome = f"stopped early (of {max_epochs})"
    else:
        outcome = "complete"
    return f"trial {trial_id}  {score}  {outcome}" + (f"  node {node}" if node else "")


def sequential_trial_line(trial_id: str, status: str, scores: list[float], max_epochs: int, node: str | None, *,
                          done: int, total: int, started: float) -> str:
    """The trial's line and the progress of a process that runs its trials one after another (Optuna, Keras Tuner):
    one is running until the last of ``total`` is ``done``."""
    progress = progress_text(done, int(done < total), total, time.time() - started)
    return f"{trial_line(trial_id, status, scores, max_epochs, node)}  [{progress}]"
