"""The default console of a Ray search (``engines.backends.ray_console``): one line per trial, the progress, quiet Ray."""

from __future__ import annotations

import logging
import pickle
from types import SimpleNamespace

from engines.backends.ray_console import TrialLines, header_line, quiet_ray_logs


def _trial(trial_id, status="RUNNING"):
    return SimpleNamespace(trial_id=trial_id, status=status, last_result={})


def test_each_finished_trial_prints_one_plain_line_with_the_progress_when_not_a_terminal(capsys):
    lines = TrialLines(total_trials=3, max_epochs=2)
    lines.setup()
    a, b = _trial("a"), _trial("b")
    for epoch, value in ((1, 0.4), (2, 0.6)):
        lines.on_trial_result(epoch, [a, b], a, {"training_iteration": epoch, "val_accuracy": value, "hostname": "n1"})
    lines.on_trial_result(1, [a, b], b, {"training_iteration": 1, "val_accuracy": 0.2, "hostname": "n2"})
    lines.on_trial_complete(3, [a, b], a)  # Ray calls this before it marks the trial TERMINATED
    lines.on_trial_complete(3, [a, b], a)  # and a second call prints nothing
    b.status = "ERROR"
    lines.on_trial_error(4, [a, b], b)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "trial a  val_accuracy 60.0% at epoch 2/2  complete  node n1  [1/3 done, 1 running, 1 left; 0:00 elapsed, "
        "about 0:00 left]",
        "trial b  val_accuracy 20.0% at epoch 1/1  failed  node n2  [2/3 done, 0 running, 1 left; 0:00 elapsed, "
        "about 0:00 left]",
    ]
    assert "\033" not in "".join(out)


def test_the_callback_pickles_without_what_it_saw(capsys):
    lines = TrialLines(total_trials=2, max_epochs=2)
    lines.on_trial_result(1, [], _trial("a"), {"training_iteration": 1, "val_accuracy": 0.5})
    restored = pickle.loads(pickle.dumps(lines))
    assert restored.scores == {} and restored.total == 2


def test_the_header_says_what_runs_where():
    assert header_line(trials=8, max_epochs=6, searcher="optuna", scheduler="asha", nodes=2, cpus=4, gpus=1,
                       max_concurrent=2, experiment="models/tuning/x") == (
        "Tuning 8 trials of up to 6 epochs (optuna + asha) on 2 nodes (4 CPUs, 1 GPUs, at most 2 at once); "
        "experiment models/tuning/x")


def test_quiet_ray_logs_drops_the_restore_advice_and_keeps_other_warnings(caplog):
    quiet_ray_logs()
    logger = logging.getLogger("ray.tune.tune")
    with caplog.at_level(logging.WARNING, logger="ray.tune.tune"):
        logger.warning("Experiment has been interrupted.\nResume experiment with: Tuner.restore(path=...)")
        logger.warning("something a user must act on")
    assert [r.getMessage() for r in caplog.records] == ["something a user must act on"]
    assert logging.getLogger("ray._private.authentication.authentication_token_setup").level == logging.ERROR
