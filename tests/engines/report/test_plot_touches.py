"""The touches on Optuna's matplotlib plots: percent axes, whole trial numbers, stopped trials crossed in red."""

from __future__ import annotations

import warnings

import pytest

from engines.report.plot_touches import finish_history, finish_slice, stopped_numbers

optuna = pytest.importorskip("optuna")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def _study(trials: int = 6) -> "optuna.Study":
    """Six trials (or the first few) over a number, a str choice and a number choice; trials 1 and 4 (rmsprop; kernel 7, 5) stopped early."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = {"learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
                     "optimizer": optuna.distributions.CategoricalDistribution(["adam", "adamw", "rmsprop"]),
                     "kernel_size": optuna.distributions.CategoricalDistribution([3, 5, 7]),
                     "n_conv_blocks": optuna.distributions.IntDistribution(1, 3)}
    study = optuna.create_study(direction="maximize")
    for number, (lr, optimizer, kernel) in enumerate([(1e-3, "adam", 3), (3e-4, "rmsprop", 7), (1e-2, "adam", 3),
                                                      (5e-4, "adamw", 5), (2e-3, "rmsprop", 5), (8e-4, "adamw", 3)][:trials]):
        study.add_trial(optuna.trial.create_trial(
            params={"learning_rate": lr, "optimizer": optimizer, "kernel_size": kernel, "n_conv_blocks": 1 + number % 3},
            distributions=distributions,
            value=0.5 + 0.05 * number, user_attrs={"status": "stopped_early" if number in (1, 4) else "complete"}))
    return study


def _red_crosses(axes) -> list:
    return [c for c in axes.collections if c.get_array() is None and c.get_offsets().shape[0]
            and tuple(round(x, 3) for x in c.get_facecolor()[0][:3]) == (0.839, 0.153, 0.157)]


def test_the_stopped_trials_are_the_ones_the_scheduler_stopped():
    assert stopped_numbers(_study()) == {1, 4}


def test_history_is_in_percent_with_the_stopped_trials_crossed_and_named_in_the_legend():
    study = _study()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's matplotlib backend is experimental
        axes = optuna.visualization.matplotlib.plot_optimization_history(study)
    finish_history(axes, study)
    crosses = _red_crosses(axes)
    assert len(crosses) == 1 and sorted(crosses[0].get_offsets()[:, 0].tolist()) == [1, 4]
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    assert "stopped early by the scheduler (2)" in legend
    assert "Objective Value" not in legend and "a trial's best epoch" in legend
    assert axes.yaxis.get_major_formatter()(0.75, 0) == "75%"


def test_slice_crosses_the_stopped_trials_in_numeric_and_categorical_panels_alike():
    study = _study()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panels = optuna.visualization.matplotlib.plot_slice(study)
    figure = panels[0].figure
    finish_slice(figure, study)
    by_name = {a.get_xlabel(): a for a in figure.get_axes() if a.get_label() != "<colorbar>"}
    assert set(by_name) == {"learning_rate", "optimizer", "kernel_size", "n_conv_blocks"}
    for name, axes in by_name.items():
        crosses = _red_crosses(axes)
        assert len(crosses) == 1 and len(crosses[0].get_offsets()) == 2, name  # trials 1 and 4, in every panel
        assert sorted(crosses[0].get_offsets()[:, 1].tolist()) == pytest.approx([0.55, 0.7])
    # On the categorical panel both stopped trials (rmsprop) sit at the rmsprop category, not at a new one.
    labels = [t.get_text() for t in by_name["optimizer"].get_xticklabels()]
    assert sorted(labels) == ["'adam'", "'adamw'", "'rmsprop'"]
    rmsprop = labels.index("'rmsprop'")
    assert _red_crosses(by_name["optimizer"])[0].get_offsets()[:, 0].tolist() == [rmsprop, rmsprop]
    # A choice of numbers is a category too (Optuna draws kernel_size 3/5/7 at positions 0/1/2, not at 3/5/7).
    kernels = [t.get_text() for t in by_name["kernel_size"].get_xticklabels()]
    assert kernels == ["3", "5", "7"]
    assert sorted(_red_crosses(by_name["kernel_size"])[0].get_offsets()[:, 0].tolist()) == [1, 2]
    assert all(float(tick).is_integer() for tick in by_name["n_conv_blocks"].get_xticks())
    assert "red x: stopped early" in figure._suptitle.get_text()


def test_the_slice_colour_bar_shows_whole_trial_numbers_once_drawn():
    study = _study(trials=5)  # numbers 0-4: matplotlib's own ticks would be 0, 0.5, 1, ...
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panels = optuna.visualization.matplotlib.plot_slice(study)
    figure = panels[0].figure
    finish_slice(figure, study)
    figure.canvas.draw()  # a colour bar resets its ticks at draw time: check what is drawn
    colour_bar = next(a for a in figure.get_axes() if a.get_label() == "<colorbar>")
    low, high = colour_bar.get_ylim()
    ticks = [t for t in colour_bar.get_yticks() if low <= t <= high]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
