"""The line every method prints per finished trial, and the progress beside it (``engines.experiment.console``)."""

from __future__ import annotations

import math

import time

from engines.experiment.console import progress_text, sequential_trial_line, trial_line


def test_a_trial_line_names_the_best_epoch_not_the_last_and_whether_the_scheduler_stopped_it():
    assert trial_line("48b75fbe", "complete", [0.5, 0.729, 0.7], 3, "node-a") == (
        "trial 48b75fbe  val_accuracy 72.9% at epoch 2/3  complete  node node-a")
    assert trial_line("ab", "complete", [0.3], 6, None) == "trial ab  val_accuracy 30.0% at epoch 1/1  stopped early (of 6)"
    assert trial_line("ab", "error", [], 6, None) == "trial ab  no score  failed"
    assert "at epoch 2/3" in trial_line("ab", "complete", [math.nan, 0.4, 0.3], 3, None)


def test_progress_says_done_running_left_and_estimates_the_rest_only_once_a_trial_ended():
    assert progress_text(0, 2, 8, 12.0) == "0/8 done, 2 running, 6 left; 0:12 elapsed"
    assert progress_text(2, 2, 8, 60.0) == "2/8 done, 2 running, 4 left; 1:00 elapsed, about 3:00 left"
    assert progress_text(8, 0, 8, 3725.0) == "8/8 done, 0 running, 0 left; 1:02:05 elapsed"


def test_a_process_running_trials_one_after_another_has_one_running_until_its_last_is_done():
    started = time.time() - 30
    assert sequential_trial_line("3", "complete", [0.5, 0.6], 2, "host", done=2, total=4, started=started) == (
        "trial 3  val_accuracy 60.0% at epoch 2/2  complete  node host  "
        "[2/4 done, 1 running, 1 left; 0:30 elapsed, about 0:30 left]")
    assert sequential_trial_line("4", "error", [], 2, None, done=4, total=4, started=started).endswith(
        "[4/4 done, 0 running, 0 left; 0:30 elapsed]")
