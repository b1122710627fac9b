"""``report`` of an ``--objective accuracy,latency`` search: every trial's validation accuracy against its latency
per sequence, the Pareto front joined up and its knee (the recommendation) marked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engines.report.plots import _percent, _pyplot, _save

__all__ = ["plot_pareto_front"]

_FAMILY_MARKERS = {"cnn_lstm": "o", "svm": "s", "logreg": "^"}


def plot_pareto_front(experiment_dir: Path, path: Path) -> dict[str, Any]:
    """Draw ``pareto_front.json`` over the trials table; returns what was drawn (points, front, knee)."""
    import pandas as pd

    document = json.loads((experiment_dir / "pareto_front.json").read_text())
    table = pd.read_parquet(experiment_dir / "trials.parquet")
    scored = table[table["best_val_accuracy"].notna() & table["latency_ms"].notna()
                   & ~table["status"].isin(["failed", "diverged", "running"])]
    family = scored["config/model_family"] if "config/model_family" in scored else pd.Series("cnn_lstm", scored.index)
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(9, 6))
    for name in sorted(set(family.fillna("cnn_lstm"))):
        rows = scored[family.fillna("cnn_lstm") == name]
        axes.scatter(rows["latency_ms"], rows["best_val_accuracy"], s=36, alpha=0.55, color="tab:gray",
                     marker=_FAMILY_MARKERS.get(name, "o"), label=f"trials: {name} ({len(rows)})")
    front = document["front"]
    axes.step([p["latency_ms"] for p in front], [p["val_accuracy"] for p in front], where="post", color="tab:blue",
              linewidth=2, label=f"Pareto front ({len(front)} trials)")
    axes.scatter([p["latency_ms"] for p in front], [p["val_accuracy"] for p in front], s=60, color="tab:blue")
    knee = next((p for p in front if p["trial_id"] == document["knee_trial"]), None)
    if knee is not None:
        axes.scatter([knee["latency_ms"]], [knee["val_accuracy"]], s=260, facecolors="none", edgecolors="tab:red",
                     linewidths=2.5, label=f"knee (recommended): {knee['val_accuracy']:.1%} at "
                                           f"{knee['latency_ms']:.2f} ms")
    axes.set_xscale("log")
    from matplotlib.ticker import FuncFormatter

    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.set_xlabel("inference latency per sequence (ms, log scale; one at a time, the trial's threads)", fontsize=12)
    axes.set_ylabel("best validation accuracy", fontsize=12)
    axes.yaxis.set_major_formatter(_percent())
    axes.tick_params(labelsize=11)
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=10, loc="lower right")
    axes.set_title(f"Accuracy against latency: {experiment_dir.name}", fontsize=13)
    _save(figure, path)
    return {"points": len(scored), "front": len(front), "knee": document["knee_trial"]}
