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


class _StoppingController(_Controller):
    """Also ``stop_trial`` as Ray's controller does it for a PAUSED trial: the scheduler hears on_trial_remove first."""

    def __init__(self, trials: list[Any], scheduler: Any) -> None:
        super().__init__(trials)
        self.scheduler = scheduler
        self.searcher = self  # HyperBandForBOHB tells its TuneBOHB of pauses

    def on_pause(self, trial_id: str) -> None:
        pass

    def on_unpause(self, trial_id: str) -> None:
        pass

    def stop_trial(self, trial: Any) -> None:
        from ray.tune.experiment import Trial

        if trial.status in (Trial.PAUSED, Trial.PENDING):
            self.scheduler.on_trial_remove(self, trial)
        trial.set_status(Trial.TERMINATED)


def test_hyperband_stops_a_trial_paused_at_the_last_milestone_when_the_brackets_last_runner_ends_on_its_own():
    # The hang seen in a 2-trial, 2-epoch smoke tune: trial 0 reached epoch 2 first and was paused to wait for the
    # bracket; trial 1's function returned with its last epoch; Ray's on_trial_remove skipped the finished bracket.
    from ray.tune.experiment import Trial
    from ray.tune.schedulers import TrialScheduler

    for name in ("hyperband", "bohb"):
        scheduler = build_scheduler(name, max_epochs=2, grace_period=1)
        scheduler.set_search_properties("val_accuracy", "max")
        trials = _trials(2)
        controller = _StoppingController(trials, scheduler)
        for trial in trials:
            scheduler.on_trial_add(controller, trial)
            trial.set_status(Trial.RUNNING)
        first, second = trials
        decisions = [scheduler.on_trial_result(controller, first, {"training_iteration": epoch, "val_accuracy": 0.5})
                     for epoch in (1, 2)]
        assert decisions == [TrialScheduler.CONTINUE, TrialScheduler.PAUSE], (name, decisions)
        first.set_status(Trial.PAUSED)
        scheduler.on_trial_result(controller, second, {"training_iteration": 1, "val_accuracy": 0.4})
        scheduler.on_trial_complete(controller, second, {"training_iteration": 2, "val_accuracy": 0.6})
        second.set_status(Trial.TERMINATED)
        assert first.status == Trial.TERMINATED, (name, scheduler.debug_string())
        assert scheduler.choose_trial_to_run(controller) is None
