"""What Optuna's matplotlib plots need before a user can read them right (``report``'s parameter pictures).

Optuna draws "Objective Value" on 0-1 with half-trial ticks, trials stopped after one rung beside full
runs as if they were conclusions, low scores in near-white on grey, and slice labels that run into the
next panel. These touches keep Optuna's drawing and fix what it says: validation accuracy in percent,
whole trial numbers, stopped trials marked apart, a colour scale where every trial stays visible.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MIN_TRIALS_FOR_IMPORTANCE", "stopped_numbers", "finish_history", "finish_parallel", "finish_slice"]

# fANOVA on a handful of trials ranks noise; below this many finished trials no importance is drawn.
MIN_TRIALS_FOR_IMPORTANCE = 20
_STOPPED = {"marker": "x", "color": "tab:red", "s": 46, "linewidths": 1.6, "zorder": 5}


def stopped_numbers(study: Any) -> set[int]:
    """Optuna numbers of the study's trials the scheduler stopped early (``user_attrs['status']``)."""
    return {t.number for t in study.trials if t.user_attrs.get("status") == "stopped_early"}


def _percent_axis(axis: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def _whole_numbers(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def finish_history(axes: Any, study: Any) -> None:
    """Validation accuracy in %, whole trial numbers, the trials stopped early crossed in red."""
    import optuna

    axes.set_ylabel("validation accuracy (best epoch)", fontsize=11)
    axes.set_xlabel("trial number (in the order trials started)", fontsize=11)
    _percent_axis(axes.yaxis)
    _whole_numbers(axes.xaxis)
    stopped = [t for t in study.trials
               if t.number in stopped_numbers(study) and t.state == optuna.trial.TrialState.COMPLETE]
    if stopped:
        axes.scatter([t.number for t in stopped], [t.value for t in stopped], **_STOPPED,
                     label=f"stopped early by the scheduler ({len(stopped)})")
    names = {"Objective Value": "a trial's best epoch", "Best Value": "best so far"}
    for artist in axes.collections + axes.lines:
        artist.set_label(names.get(artist.get_label(), artist.get_label()))
    axes.legend(fontsize=9, loc="best", framealpha=0.9)


def finish_parallel(axes: Any) -> None:
    """Every line in a colour scale that stays visible at its low end; tick labels on a white ground."""
    from matplotlib.collections import LineCollection

    for collection in axes.collections:
        if isinstance(collection, LineCollection):
            collection.set_cmap("viridis")
    for image in axes.figure.axes:
        for label in image.get_yticklabels() + image.get_xticklabels():
            label.set_bbox({"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1})
        if image.get_label() == "<colorbar>":
            image.set_ylabel("validation accuracy (best epoch)", fontsize=11)
    names = [label.get_text() for label in axes.get_xticklabels()]
    if names and names[0] in ("Objective Value", "val_accuracy"):  # the latter: the study's metric name
        axes.set_xticks(axes.get_xticks(), ["validation accuracy", *names[1:]])


def finish_slice(figure: Any, study: Any) -> None:
    """Labels that stay in their panel, whole trial numbers on the colour bar, stopped trials crossed in red."""
    import optuna

    stopped = stopped_numbers(study)
    categorical = optuna.distributions.CategoricalDistribution
    panels = [a for a in figure.get_axes() if a.get_label() != "<colorbar>"]
    for axes in panels:
        for label in axes.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")
        parameter = axes.get_xlabel()
        kinds = {type(trial.distributions[parameter]) for trial in study.trials if parameter in trial.distributions}
        if kinds == {optuna.distributions.IntDistribution}:
            _whole_numbers(axes.xaxis)  # n_conv_blocks 1..3, not 1.0, 1.5, ...
        marked = [t for t in study.trials if t.number in stopped and t.state == optuna.trial.TrialState.COMPLETE
                  and parameter in t.params]
        if marked:
            # Optuna places every choice of a categorical parameter (kernel_size 3/5/7 too) at the category
            # named repr(value), and a searched number at its value.
            axes.scatter([repr(t.params[parameter]) if isinstance(t.distributions[parameter], categorical)
                          else t.params[parameter] for t in marked], [t.value for t in marked], **_STOPPED)
    if panels:
        panels[0].set_ylabel("validation accuracy", fontsize=10)
        for axes in panels:
            _percent_axis(axes.yaxis)
    for axes in figure.get_axes():
        if axes.get_label() == "<colorbar>":
            from matplotlib.ticker import MaxNLocator

            # A colour bar redraws its ticks from its own locator: setting the axis's is undone at draw time.
            axes._colorbar.locator = MaxNLocator(integer=True)
            axes.set_ylabel("trial number", fontsize=10)
    for axes in panels:
        for collection in axes.collections:
            if collection.get_array() is not None:  # Optuna's Blues draws the first trials white on grey
                collection.set_cmap("viridis")
    if stopped:
        title = figure._suptitle.get_text() if figure._suptitle is not None else ""
        figure.suptitle(f"{title}\nred x: stopped early by the scheduler (its score is from fewer epochs); "
                        "colour: trial number", fontsize=12)
