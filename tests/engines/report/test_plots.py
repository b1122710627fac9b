"""The report's pictures from an experiment's progress: the anytime series, the curves and the index page."""

from __future__ import annotations

import math

from engines.report.plots import anytime_series, plot_learning_curves, write_index
from engines.report.progress import ExperimentProgress, TrialProgress


def progress() -> ExperimentProgress:
    trials = [TrialProgress("a", "complete", [0.3, 0.5, 0.4], [1.0, 2.0, 5.0]),
              TrialProgress("b", "stopped_early", [0.45, math.nan], [1.5, 3.0]),
              TrialProgress("c", "failed", [], [])]
    return ExperimentProgress("small", trials, {"scheduler": "asha", "grace_period": 1, "max_epochs": 3},
                              "trials table", True, True)


def test_the_anytime_series_is_the_best_so_far_in_time_order_skipping_nan():
    series = anytime_series(progress())
    assert series["seconds"] == [1.0, 1.5, 2.0, 5.0]
    assert series["best"] == [0.3, 0.45, 0.5, 0.5] and series["epochs"] == [1, 2, 3, 4]


def test_learning_curves_name_the_best_trial_and_leave_out_trials_without_an_epoch(tmp_path):
    drawn = plot_learning_curves(progress(), tmp_path / "curves.png", baseline=0.2)
    assert drawn["best"] == "a" and "c" not in drawn["trials"]
    assert (tmp_path / "curves.png").is_file()


def test_the_index_captions_each_picture_and_links_its_interactive_version(tmp_path):
    (tmp_path / "slice.html").write_text("<html></html>")
    index = write_index(tmp_path, "Experiment <x>", ["slice.png", "anytime.png"], ["a note"])
    text = index.read_text()
    assert "Experiment &lt;x&gt;" in text and "<em>a note</em>" in text
    assert "href='slice.html'" in text and "anytime.html" not in text
