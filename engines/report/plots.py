"""The report's pictures: learning curves, the anytime curve, readable parameter plots, and an index page.

Learning curves and the anytime curve are drawn with matplotlib from
:class:`engines.report.progress.ExperimentProgress` (every method, finished or running). The
parameter plots come from Optuna's visualisation, restricted to the most important
parameters so that every label reads, and each PNG is sized for its content.
"""

from __future__ import annotations

import html
import warnings
from pathlib import Path
from typing import Any

from engines.report.plot_touches import MIN_TRIALS_FOR_IMPORTANCE, finish_history, finish_parallel, finish_slice
from engines.report.progress import ExperimentProgress, asha_rungs

__all__ = [
    "plot_learning_curves",
    "plot_anytime",
    "anytime_series",
    "top_parameters",
    "plot_parameters",
    "write_index",
    "TOP_PARAMS",
]

TOP_PARAMS = 6
_DPI = 100
_STYLE = {  # status -> how a trial's curve is drawn
    "complete": {"linestyle": "-", "linewidth": 1.6, "alpha": 0.9},
    "stopped_early": {"linestyle": "--", "linewidth": 1.0, "alpha": 0.55, "color": "0.45"},
    "running": {"linestyle": ":", "linewidth": 1.6, "alpha": 0.9, "color": "tab:cyan"},
    "failed": {"linestyle": ":", "linewidth": 1.0, "alpha": 0.8, "color": "tab:red"},
    "diverged": {"linestyle": "-.", "linewidth": 1.0, "alpha": 0.8, "color": "darkred"},
}
# Trials that ran to the end; no orange (the rungs), red (baseline, failures), grey (stopped) or cyan (running).
_FINISHED_COLOURS = ("tab:blue", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "navy", "teal")
_LABEL = {"complete": "ran to the last epoch", "stopped_early": "stopped early by the scheduler",
          "running": "still running", "failed": "failed", "diverged": "diverged (NaN/Inf loss)"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: Path) -> None:
    figure.savefig(path, dpi=_DPI, bbox_inches="tight")
    _pyplot().close(figure)


def plot_learning_curves(progress: ExperimentProgress, path: Path, *, baseline: float | None = None) -> dict[str, Any]:
    """Validation accuracy per epoch of every trial; early-stopped trials dashed grey, the scheduler's rungs marked.

    Returns:
        What was drawn: ``{"trials": {id: (status, values)}, "rungs": [...], "best": id}`` (the tests read it).
    """
    plt = _pyplot()
    config = progress.config
    max_epochs = int(config.get("max_epochs") or max((len(t.val_accuracy) for t in progress.trials), default=1))
    scheduler = config.get("scheduler")
    # Rungs only where ASHA ran: a Keras Tuner or native Optuna config also holds the (unused) default scheduler.
    ran_asha = scheduler == "asha" and config.get("method", "ray") == "ray"
    rungs = asha_rungs(int(config.get("grace_period") or 1), max_epochs) if ran_asha else []
    scored = [t for t in progress.trials if t.val_accuracy]
    best = max(scored, key=lambda t: max(t.val_accuracy)).trial_id if scored else None
    figure, axes = plt.subplots(figsize=(10, 6))
    labelled = set()
    finished = 0
    for trial in sorted(scored, key=lambda t: t.status == "complete"):  # finished curves on top
        style = dict(_STYLE.get(trial.status, _STYLE["failed"]))
        if trial.status == "complete":
            style["color"] = _FINISHED_COLOURS[finished % len(_FINISHED_COLOURS)]
            finished += 1
        label = None if trial.status in labelled else _LABEL.get(trial.status, trial.status)
        labelled.add(trial.status)
        epochs = range(1, len(trial.val_accuracy) + 1)
        axes.plot(epochs, trial.val_accuracy, label=label, **style)
        if trial.status == "stopped_early":
            axes.plot(len(trial.val_accuracy), trial.val_accuracy[-1], marker="x", color="0.3", markersize=6)
    if best is not None:
        winner = next(t for t in scored if t.trial_id == best)
        axes.plot(range(1, len(winner.val_accuracy) + 1), winner.val_accuracy, color="black", linewidth=2.6,
                  label=f"best trial {best} ({max(winner.val_accuracy):.1%})")
    for i, rung in enumerate(rungs):
        axes.axvline(rung, color="tab:orange", linewidth=1.4, alpha=0.9, linestyle="-.",
                     label=f"ASHA rungs (grace {rungs[0]} x 3^k): epochs {', '.join(map(str, rungs))}" if i == 0 else None)
    if baseline is not None:
        axes.axhline(baseline, color="tab:red", linewidth=1, alpha=0.6, label=f"majority baseline {baseline:.0%}")
    axes.set_xlim(0.8, max_epochs + 0.2)
    axes.set_xticks(range(1, max_epochs + 1))
    axes.set_xlabel("epoch", fontsize=12)
    axes.set_ylabel("validation accuracy", fontsize=12)
    axes.yaxis.set_major_formatter(_percent())
    state = "finished" if progress.finished else "so far (the run may still be going)"
    axes.set_title(f"Learning curves: {len(scored)} trials of {progress.name}, {state}", fontsize=13)
    axes.legend(loc="lower right", fontsize=10)
    axes.grid(alpha=0.3)
    axes.tick_params(labelsize=11)
    _save(figure, path)
    return {"trials": {t.trial_id: (t.status, list(t.val_accuracy)) for t in scored}, "rungs": rungs, "best": best}


def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def anytime_series(progress: ExperimentProgress) -> dict[str, list[float]]:
    """Best validation accuracy so far after every epoch of every trial, in time order.

    Returns:
        ``{"epochs": cumulative epochs, "seconds": time of each epoch's end, "best": best so far}``.
    """
    events = sorted(
        (end, value)
        for trial in progress.trials
        for end, value in zip(trial.epoch_end_s or [], trial.val_accuracy)
        if value == value
    )
    best, series = float("-inf"), {"epochs": [], "seconds": [], "best": []}
    for count, (end, value) in enumerate(events, start=1):
        best = max(best, value)
        series["epochs"].append(count)
        series["seconds"].append(end)
        series["best"].append(best)
    return series


def plot_anytime(progress: ExperimentProgress, path: Path, *, baseline: float | None = None) -> dict[str, list[float]]:
    """Best validation accuracy so far against cumulative epochs (left) and against wall time (right), above the
    validation majority baseline; a run under 3 minutes is timed in seconds."""
    plt = _pyplot()
    series = anytime_series(progress)
    figure, (by_epochs, by_time) = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    by_epochs.step(series["epochs"], series["best"], where="post", color="tab:green", linewidth=2)
    by_epochs.set_xlabel("epochs trained, all trials together", fontsize=12)
    by_epochs.set_ylabel("best validation accuracy so far", fontsize=12)
    short = max(series["seconds"], default=0.0) < 180
    unit, scale = ("seconds", 1.0) if short else ("minutes", 60.0)
    by_time.step([s / scale for s in series["seconds"]], series["best"], where="post", color="tab:purple",
                 linewidth=2)
    by_time.set_xlabel(f"{unit} since the first epoch ended" if progress.times_measured
                       else f"{unit} (trial wall times laid end to end)", fontsize=12)
    for axes in (by_epochs, by_time):
        if baseline is not None:
            axes.axhline(baseline, color="tab:red", linestyle="--", linewidth=1.2,
                         label=f"majority-class baseline {baseline:.0%}")
            axes.legend(fontsize=10, loc="center right")
        axes.grid(alpha=0.3)
        axes.tick_params(labelsize=11)
        axes.yaxis.set_major_formatter(_percent())
    figure.suptitle(f"Anytime performance of {progress.name}", fontsize=13)
    _save(figure, path)
    return series


def top_parameters(study: Any, n: int = TOP_PARAMS) -> tuple[list[str], dict[str, float], str]:
    """The ``n`` most important parameters by fANOVA (seeded), all importances, and the method's name."""
    import optuna

    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns once per parameter it cannot use; the plot says which it used
        importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    return list(importances)[:n], dict(importances), "fANOVA (Optuna's FanovaImportanceEvaluator, seed 0)"


def plot_parameters(study: Any, plots_dir: Path) -> tuple[list[str], list[str]]:
    """Importances (all parameters), then parallel coordinates and slices of the top ones; HTML and PNG.

    Returns:
        ``(files written, notes on plots skipped)``.
    """
    import optuna
    import optuna.visualization as plotly_vis
    import optuna.visualization.matplotlib as mpl_vis

    plt = _pyplot()
    written, skipped = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message=".*(dynamic|not supported|will be ignored).*")
        try:
            top, importances, method = top_parameters(study)
        except (ValueError, RuntimeError) as exc:  # fewer than two finished trials, say
            return [], [f"parameter plots ({exc})"]
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        finished = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
        plots = [
            ("optimization_history", {}, (10, 5)),
            ("param_importances", {"evaluator": evaluator}, (10, max(4, 0.4 * len(importances) + 1.5))),
            ("parallel_coordinate", {"params": top}, (2.2 * len(top) + 3, 6.5)),
            ("slice", {"params": top}, (4.2 * len(top), 4.6)),
        ]
        if finished < MIN_TRIALS_FOR_IMPORTANCE:
            plots.pop(1)
            skipped.append(f"param_importances (fANOVA needs at least {MIN_TRIALS_FOR_IMPORTANCE} finished trials "
                           f"to rank anything but noise; this study has {finished})")
        for stem, kwargs, size in plots:
            try:
                # plotly.min.js once beside the pages (about 4.8 MB each when every page carries its own).
                plotly_vis.__dict__[f"plot_{stem}"](study, **kwargs).write_html(plots_dir / f"{stem}.html",
                                                                              include_plotlyjs="directory")
                result = mpl_vis.__dict__[f"plot_{stem}"](study, **kwargs)
                axes = result.flat[0] if hasattr(result, "flat") else result
                figure = axes.get_figure()
                figure.set_size_inches(*size)
                # Optuna titles its axes (centre or left); one title per picture, saying what it shows.
                if stem in ("param_importances", "parallel_coordinate"):
                    axes.set_title("")
                    axes.set_title("", loc="left")
                if stem == "optimization_history":
                    finish_history(axes, study)
                elif stem == "param_importances":
                    axes.set_title(f"Hyperparameter importances by {method} over {finished} finished trials; "
                                   "parameters set in every trial", loc="left", fontsize=12)
                elif stem == "parallel_coordinate":
                    axes.set_title(f"Parallel coordinates of the {len(top)} most important parameters",
                                   loc="left", fontsize=12)
                    finish_parallel(axes)
                elif stem == "slice":
                    figure.suptitle(f"Slices: score against each of the {len(top)} most important parameters",
                                    fontsize=12)
                    finish_slice(figure, study)
                for each in figure.get_axes():
                    each.tick_params(labelsize=10)
                figure.savefig(plots_dir / f"{stem}.png", dpi=_DPI, bbox_inches="tight")
                plt.close("all")
                written += [f"{stem}.png", f"{stem}.html"]
            except (ValueError, RuntimeError) as exc:
                plt.close("all")
                skipped.append(f"{stem} ({exc})")
    return written, skipped


def write_index(plots_dir: Path, title: str, pictures: list[str], notes: list[str]) -> Path:
    """``index.html``: every PNG of the report with a caption, and links to the interactive HTML versions."""
    captions = {
        "learning_curves.png": "Validation accuracy per epoch of every trial; dashed grey: stopped early by the "
                               "scheduler; orange: the scheduler's rungs; black: the best trial.",
        "anytime.png": "Best validation accuracy so far against epochs spent and against time.",
        "optimization_history.png": "Each trial's score in the order it finished, and the best so far.",
        "param_importances.png": "How much each hyperparameter explains the score (fANOVA).",
        "parallel_coordinate.png": "Every trial across the most important parameters, coloured by score.",
        "slice.png": "Score against each of the most important parameters.",
    }
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1300px;margin:auto}img{max-width:100%}</style>",
             f"<h1>{html.escape(title)}</h1>"]
    parts += [f"<p><em>{html.escape(note)}</em></p>" for note in notes]
    for picture in pictures:
        interactive = picture.replace(".png", ".html")
        link = f" (<a href='{interactive}'>interactive</a>)" if (plots_dir / interactive).is_file() else ""
        parts.append(f"<h2>{html.escape(picture)}</h2><p>{html.escape(captions.get(picture, ''))}{link}</p>"
                     f"<img src='{html.escape(picture)}' alt='{html.escape(picture)}'>")
    index = plots_dir / "index.html"
    index.write_text("\n".join(parts) + "\n")
    return index
