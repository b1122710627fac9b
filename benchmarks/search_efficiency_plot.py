"""The search-efficiency picture: best-so-far validation accuracy against epochs and against simulated minutes.

Median over seeds (line) and interquartile band, one line per pairing; the x axis is logarithmic so the
first epochs, where early stopping saves its compute, are as readable as the end of the night.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_anytime"]

_STYLES = ["-", "--", "-", "-.", ":", "--", "-.", ":", "-", "--"]


def _on_grid(points: list[tuple[int, float, float]], index: int, grid: np.ndarray) -> np.ndarray:
    ordered = sorted(points, key=lambda p: p[index])
    xs = np.array([p[index] for p in ordered], dtype=float)
    best = np.maximum.accumulate([p[2] for p in ordered])
    at = np.searchsorted(xs, grid, side="right") - 1
    return np.where(at >= 0, best[np.clip(at, 0, None)], np.nan)


def plot_anytime(runs: dict[str, dict[int, dict]], pairings: list[Any], path: Path, *, title_seeds: int,
                 trials: int, workers: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MultipleLocator, PercentFormatter

    figure, axes = plt.subplots(1, 2, figsize=(16, 7), sharey=True)
    colours = list(plt.cm.tab10.colors)
    all_points = [p for per_seed in runs.values() for run in per_seed.values() for p in run["anytime"]]
    low_y = np.percentile([p[2] for p in all_points], 5)
    for index, axis in enumerate(axes):
        top = max(p[index] for p in all_points)
        first = min(p[index] for p in all_points)
        grid = np.geomspace(max(first, 1e-3), top, 300)
        for pairing, style, colour in zip(pairings, _STYLES, colours):
            per_seed = runs.get(pairing.key, {})
            if not per_seed:
                continue
            values = np.array([_on_grid(run["anytime"], index, grid) for run in per_seed.values()])
            complete = np.isfinite(values).all(axis=0)  # only where every seed has a model
            median = np.where(complete, np.nanmedian(np.where(complete, values, 0.0), axis=0), np.nan)
            q1 = np.where(complete, np.nanpercentile(np.where(complete, values, 0.0), 25, axis=0), np.nan)
            q3 = np.where(complete, np.nanpercentile(np.where(complete, values, 0.0), 75, axis=0), np.nan)
            x = grid / 60 if index == 1 else grid
            width = 2.8 if pairing.key in ("random_fifo", "tpe_asha") else 1.8
            axis.step(x, median, where="post", linestyle=style, color=colour, linewidth=width, label=pairing.label)
            axis.fill_between(x, q1, q3, step="post", color=colour, alpha=0.12)
        axis.set_xscale("log")
        axis.set_xlabel("epochs trained, all trials together (log scale)" if index == 0
                        else "simulated minutes since the search started (log scale)", fontsize=13)
        axis.grid(alpha=0.3, which="both")
        axis.tick_params(labelsize=12)
        axis.set_ylim(bottom=max(low_y - 0.02, 0.0))
    axes[0].set_ylabel("best validation accuracy so far", fontsize=13)
    axes[0].yaxis.set_major_locator(MultipleLocator(0.02))
    axes[0].yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    figure.suptitle(f"Anytime best validation accuracy on the surrogate: median of {title_seeds} seeds, band = "
                    f"interquartile range; {trials} trials per search, {workers} at once", fontsize=14)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=11, loc="lower center", ncol=5, bbox_to_anchor=(0.5, -0.08))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
