"""What a Ray Tune search prints at the default verbosity: one line per finished trial and the progress.

Ray's own reporter prints a config box and a result box per trial and the whole trials table on every
update (272 lines for 5 trials); ``--verbose 2`` keeps it. At ``--verbose 1`` Ray is silent and this
callback prints, per finished trial, its id, best score and the epoch it came from, the epochs it ran,
whether the scheduler stopped it, and its node, followed by trials done / running / left and elapsed /
remaining time. On a terminal the progress is one line redrawn in place; in a redirected log it is
printed with each trial, so no escape code reaches a file.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from typing import Any

from ray.tune import Callback

from engines.experiment.console import progress_text, trial_line

__all__ = ["TrialLines", "quiet_ray_logs", "header_line"]


class _DropMessages(logging.Filter):
    def __init__(self, *fragments: str) -> None:
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(fragment in record.getMessage() for fragment in self.fragments)


def quiet_ray_logs() -> None:
    """Below ``--verbose 2``, keep Ray's lines a user need not act on off the console.

    Token authentication stays on (its notice goes); "Started a local Ray instance" goes; after Ctrl-C
    Ray's ``Tuner.restore(...)`` advice goes, since the tool prints its own ``--resume --name`` line.
    """
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    logging.getLogger("ray._private.worker").setLevel(logging.WARNING)
    # "Experiment state snapshotting has been triggered multiple times ...": the tool sets checkpoint frequency.
    logging.getLogger("ray.tune.execution.experiment_state").setLevel(logging.ERROR)
    logging.getLogger("ray.tune.schedulers.hyperband").setLevel(logging.WARNING)  # "Bracket too small - Retrying..."
    tune_logger = logging.getLogger("ray.tune.tune")
    tune_logger.setLevel(logging.WARNING)  # "Wrote the latest version of all result files ..."
    if not any(isinstance(f, _DropMessages) for f in tune_logger.filters):
        tune_logger.addFilter(_DropMessages("Resume experiment with", "Tuner.restore("))


def header_line(*, trials: int, max_epochs: int, searcher: str, scheduler: str, nodes: int, cpus: float,
                gpus: float, max_concurrent: int | None, experiment: str) -> str:
    """What runs where, before the first trial: ``Tuning 8 trials of up to 6 epochs (optuna + asha) on ...``."""
    at_once = f", at most {max_concurrent} at once" if max_concurrent else ""
    return (f"Tuning {trials} trials of up to {max_epochs} epochs ({searcher} + {scheduler}) on {nodes} "
            f"node{'s' if nodes != 1 else ''} ({cpus:g} CPUs, {gpus:g} GPUs{at_once}); experiment {experiment}")


class TrialLines(Callback):
    """A Ray Tune callback: the default console of a search (see the module docstring).

    Kept free of open streams and clocks between runs: Ray pickles callbacks with the experiment,
    and a resumed run gets a fresh start time from ``setup``.
    """

    def __init__(self, total_trials: int, max_epochs: int) -> None:
        self.total, self.max_epochs = total_trials, max_epochs
        self.scores: dict[str, list[float]] = {}
        self.nodes: dict[str, str] = {}
        self.ended: set[str] = set()
        self.started = time.time()
        self._drawn = 0.0

    def setup(self, **info: Any) -> None:
        self.started, self._drawn = time.time(), 0.0

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "scores": {}, "nodes": {}, "ended": set()}

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        epoch = int(result.get("training_iteration") or 0)
        scores = self.scores.setdefault(trial.trial_id, [])
        value = result.get("val_accuracy")
        if epoch > len(scores):  # a resumed trial re-reports nothing it already reported
            scores.extend([math.nan] * (epoch - len(scores) - 1))
            scores.append(float(value) if value is not None else math.nan)
        node = result.get("hostname") or result.get("node_ip")
        if node:
            self.nodes[trial.trial_id] = str(node)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._ended(trials, trial, "complete")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._ended(trials, trial, "error")

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        if _is_terminal() and time.time() - self._drawn >= 1.0:
            self._draw(trials)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        if _is_terminal():
            self._draw(trials)
            sys.stdout.write("\n")
            sys.stdout.flush()

    def _ended(self, trials: list, trial: Any, status: str) -> None:
        if trial.trial_id in self.ended:
            return
        self.ended.add(trial.trial_id)
        scores = self.scores.get(trial.trial_id) or _history(trial)
        line = trial_line(trial.trial_id, status, scores, self.max_epochs, self.nodes.get(trial.trial_id))
        if _is_terminal():
            sys.stdout.write("\r\033[K" + line + "\n")
            self._draw(trials)
        else:
            print(f"{line}  [{self._progress(trials)}]", flush=True)

    def _done(self, trials: list) -> int:
        # Ray calls on_trial_complete before it marks the trial TERMINATED: count the ones seen ending too.
        return len(self.ended | {t.trial_id for t in trials if t.status in ("TERMINATED", "ERROR")})

    def _progress(self, trials: list) -> str:
        running = sum(t.status == "RUNNING" and t.trial_id not in self.ended for t in trials)
        return progress_text(self._done(trials), running, max(self.total, len(trials)), time.time() - self.started)

    def _draw(self, trials: list) -> None:
        done = self._done(trials)
        total = max(self.total, len(trials))
        filled = int(20 * done / total) if total else 0
        sys.stdout.write(f"\r\033[K[{'#' * filled}{'.' * (20 - filled)}] {self._progress(trials)}")
        sys.stdout.flush()
        self._drawn = time.time()


def _history(trial: Any) -> list[float]:
    """The scores of a trial this run saw no result of (restored already finished): its last result only."""
    last = getattr(trial, "last_result", None) or {}
    if "val_accuracy" not in last:
        return []
    epoch = int(last.get("training_iteration") or 1)
    return [math.nan] * (epoch - 1) + [float(last["val_accuracy"])]


def _is_terminal() -> bool:
    return sys.stdout.isatty()
