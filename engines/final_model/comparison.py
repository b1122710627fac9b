"""What ``train`` and ``verify`` print beside an accuracy: classical baselines, the comparison with them, selection noise.

A tuned deep model is worth its search only where it beats logistic regression and an
RBF-SVM fitted in a second on the same split (:mod:`eeg.baselines`), and its best trial's
validation score, chosen as the maximum of many noisy estimates, usually overstates the
test score ``verify`` measures. These helpers put both next to every result.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from engines.experiment.files import read_json_object

__all__ = ["interval_text", "verdict", "small_search_line", "baseline_comparison_lines", "selection_line", "tuned_metadata", "mean_interval"]


def mean_interval(values: Sequence[float]) -> tuple[float, tuple[float, float] | None]:
    """Mean and its 95% t-interval (None for one value; a point when all values agree)."""
    from scipy import stats

    values = [float(v) for v in values]
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None
    sem = statistics.stdev(values) / math.sqrt(len(values))
    if sem == 0:
        return mean, (mean, mean)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=sem)
    return mean, (float(low), float(high))


def interval_text(interval: tuple[float, float] | None, n: int, unit: str) -> str:
    """``"95% CI +0.6 to +12.3 over 5 seeds"`` (points), or why there is none."""
    if interval is None:
        return f"no CI with one {unit.rstrip('s')}; use 3 or more"
    return f"95% CI {interval[0] * 100:+.1f} to {interval[1] * 100:+.1f} over {n} {unit}"


def verdict(interval: tuple[float, float] | None, other: str = "it") -> str:
    """Whether the tuned model beats ``other`` (a baseline, the default configuration), from the interval of
    (tuned - other)."""
    if interval is None:
        return "one run cannot tell"
    # TensorFlow's float32 accuracy differs from scikit-learn's by ~1e-9 on the same predictions.
    if interval[0] > 1e-6:
        return f"the tuned model beats {other}"
    if interval[1] < -1e-6:
        return f"the tuned model is worse than {other}: tuning did not pay off here"
    return "no clear difference: the interval includes zero"


def baseline_comparison_lines(
    tuned: Sequence[float], baselines: dict[str, Sequence[float]], unit: str
) -> list[str]:
    """``Best classical baseline: NAME NN.N%`` and ``Tuned vs NAME: +x points (CI): verdict``.

    Args:
        tuned: the tuned model's accuracy per seed (or per fold).
        baselines: each baseline's accuracy, one per seed (repeated: it does not depend on the seed) or per fold.
        unit: ``"seeds"`` or ``"folds"``.
    """
    name = max(baselines, key=lambda k: statistics.fmean(baselines[k]))
    best = list(baselines[name])
    gain, interval = mean_interval([t - b for t, b in zip(tuned, best)])
    return [
        f"Best classical baseline: {name} {statistics.fmean(best):.1%}",
        f"Tuned vs {name}: {gain * 100:+.1f} points ({interval_text(interval, len(best), unit)}): {verdict(interval)}",
    ]


def tuned_metadata(hparams_file: str | None) -> dict[str, Any]:
    """The ``metadata`` block of a tuned file (empty when absent or unreadable; the file was checked already)."""
    if not hparams_file:
        return {}
    metadata = read_json_object(hparams_file).get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def selection_line(metadata: dict[str, Any], tuned_accuracy: float, where: str) -> str | None:
    """``Best trial's validation accuracy 84.6% (what tuning selected on) vs tuned test accuracy 79.5%: -5.1 points``."""
    best = metadata.get("best_score")
    if not isinstance(best, (int, float)):
        return None
    line = (
        f"Best trial's validation accuracy {best:.1%} (what tuning selected on) vs tuned {where} accuracy "
        f"{tuned_accuracy:.1%}: {(tuned_accuracy - best) * 100:+.1f} points"
    )
    folds, std = metadata.get("cv_folds"), metadata.get("cv_std")
    if folds:  # --cv K: say what the selection score was, and how far it overstates (optimism = selected - final)
        spread = f", std {std:.1%}" if isinstance(std, (int, float)) else ""
        line = line.replace("(what tuning selected on)", f"(mean of {folds} grouped folds{spread}: what tuning "
                                                         "selected on)")
    return f"{line}; optimism {(best - tuned_accuracy) * 100:+.1f} points"


# Below these a search is a smoke run: on the default data no gain over the default configuration is expected.
ENOUGH_TRIALS, ENOUGH_EPOCHS = 30, 20


def small_search_line(metadata: dict[str, Any]) -> str | None:
    """One line when the tuned file came from a search too small to expect a gain, with a command large enough."""
    trials, epochs = metadata.get("trials"), metadata.get("max_epochs")
    if not isinstance(trials, int) or not isinstance(epochs, int):
        return None
    if trials >= ENOUGH_TRIALS and epochs >= ENOUGH_EPOCHS and not metadata.get("smoke_test"):
        return None
    return (f"note: the search behind this file was small ({trials} trials of up to {epochs} epochs"
            f"{', a smoke test' if metadata.get('smoke_test') else ''}), too small to expect a gain over the default; "
            f"`python tune_cluster.py --use-dummy-data --max-trials 100 --max-epochs 30` is a night's search "
            "(hours on 2 CPUs)")
