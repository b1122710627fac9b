"""Schedulers the job builds tell themselves and the searcher of a trial Ray's controller set ERROR silently."""

from __future__ import annotations

from typing import Any

from engines.backends.ray_search import build_scheduler


class _Controller:
    """The controller surface a scheduler sees through Ray's TrialRunnerWrapper: trials and the search algorithm."""

    def __init__(self, trials: list[Any]) -> None:
        self.trials = trials
        self.completed: list[tuple[str, bool]] = []
        self.search_alg = self

    def get_trials(self) -> list[Any]:
        return list(self.trials)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        self.completed.append((trial_id, error))


def _trials(n: int) -> list[Any]:
    from ray.tune.experiment import Trial

    return [Trial("__fake", stub=True, trial_id=f"t{i}") for i in range(n)]


def test_a_silent_error_is_told_once_and_one_ray_reported_is_not_told_again():
    from ray.tune.experiment import Trial

    scheduler = build_scheduler("hyperband", max_epochs=9, grace_period=1)
    scheduler.set_search_properties("val_accuracy", "max")
    trials = _trials(3)
    controller = _Controller(trials)
    for trial in trials:
        scheduler.on_trial_add(controller, trial)
    silent, reported, _ = trials
    silent.set_status(Trial.ERROR)  # Ray's _on_trial_reset: nobody told
    scheduler.on_trial_error(controller, reported)  # Ray's _process_trial_failure: told, then ERROR
    reported.set_status(Trial.ERROR)
    bracket, _ = scheduler._trial_info[silent]
    assert silent in bracket.current_trials()

    scheduler.choose_trial_to_run(controller)
    scheduler.choose_trial_to_run(controller)
    assert controller.completed == [("t0", True)]  # the searcher hears of the silent one, once
    assert silent not in bracket.current_trials()  # and the bracket no longer waits for it


def test_every_scheduler_the_job_builds_hears_silent_errors():
    for name in ("asha", "hyperband", "median", "fifo"):
        scheduler = build_scheduler(name, max_epochs=9, grace_period=1)
        assert hasattr(scheduler, "errors_told"), name
