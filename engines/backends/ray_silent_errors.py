"""Tell the scheduler and the searcher of a trial that Ray's controller ended without telling them.

When a trial is to start on a reused actor and the actor cannot be reset for it (``reset_config`` waits 2 s for
the last trial's thread; on a loaded machine that runs out: "Could not re-use actor for trial ..."), Ray 2.60's
``TuneController._on_trial_reset`` marks the trial ERROR and stops it, but calls neither
``scheduler.on_trial_error`` nor ``search_alg.on_trial_complete``, which ``_process_trial_failure`` calls for
every other failure. HyperBand (and BOHB's HyperBandForBOHB) then wait for ever for that trial to reach the
bracket's rung while the bracket's other trials sit PAUSED (seen: TPE + HyperBand, 33 trials PAUSED, 55 minutes,
BENCHMARKS.md), and a ConcurrencyLimiter keeps the trial's slot for the rest of the run.

The schedulers the job builds therefore look, each time the controller asks them for a trial to run, for ERROR
trials nobody was told of, and tell both themselves and the controller's search algorithm, as Ray does for a
failure it sees.

The same wait for ever has a second cause in Ray 2.60's HyperBand: when a bracket's last running trial ends on its
own (its function returned with its last epoch) while another trial of the bracket is PAUSED at the final
milestone, ``on_trial_remove`` sees the bracket finished and skips it, although only ``cleanup_full`` stops those
paused trials (seen: random + HyperBand, 2 trials of 2 epochs, one PAUSED at epoch 2 for 20 minutes). The
HyperBand schedulers the job builds stop them there: they have trained every epoch the bracket gives them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["hears_silent_errors"]

_CLASSES: dict[type, type] = {}


def hears_silent_errors(scheduler_class: type) -> type:
    """``scheduler_class`` with the silent-error check above (one subclass per class, made on first use)."""
    if scheduler_class not in _CLASSES:
        _CLASSES[scheduler_class] = _subclass(scheduler_class)
    return _CLASSES[scheduler_class]


def _subclass(scheduler_class: type) -> type:
    from ray.tune.experiment import Trial
    from ray.tune.schedulers import HyperBandScheduler

    class HearsSilentErrors(scheduler_class):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.errors_told: set[str] = set()
            self.stopping_finished = False  # stopping a paused trial calls on_trial_remove again

        def on_trial_error(self, tune_controller: Any, trial: Any) -> None:
            self.errors_told.add(trial.trial_id)
            super().on_trial_error(tune_controller, trial)

        def choose_trial_to_run(self, tune_controller: Any, *args: Any, **kwargs: Any) -> Any:
            for trial in tune_controller.get_trials():
                if trial.status == Trial.ERROR and trial.trial_id not in self.errors_told:
                    self._tell_silent_error(tune_controller, trial)
            return super().choose_trial_to_run(tune_controller, *args, **kwargs)

        def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
            bracket = self._trial_info[trial][0] if isinstance(self, HyperBandScheduler) else None
            super().on_trial_remove(tune_controller, trial)
            if bracket is not None and bracket.finished() and not self.stopping_finished:
                self.stopping_finished = True
                try:
                    bracket.cleanup_full(tune_controller)
                finally:
                    self.stopping_finished = False

        def _tell_silent_error(self, tune_controller: Any, trial: Any) -> None:
            self.errors_told.add(trial.trial_id)
            # HyperBand's bracket still counts the trial live; on_trial_error takes it out and lets the bracket
            # halve. The other schedulers keep no state a missing trial blocks.
            if isinstance(self, HyperBandScheduler) and trial in self._trial_info:
                super().on_trial_error(tune_controller, trial)
            search_alg = getattr(tune_controller, "search_alg", None)  # Ray's wrapper lets schedulers read it
            if search_alg is not None:
                search_alg.on_trial_complete(trial.trial_id, error=True)

    HearsSilentErrors.__name__ = HearsSilentErrors.__qualname__ = scheduler_class.__name__
    return HearsSilentErrors
