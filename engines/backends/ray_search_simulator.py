"""Ray Tune's own searchers and schedulers, driven on a simulated clock instead of Ray's controller.

A search-efficiency comparison needs thousands of trials per pairing; through Ray's ``TuneController`` each
trial costs about a second of controller time even when it trains nothing. Here the same objects the job
builds (:func:`engines.backends.ray_search.build_search` and ``build_scheduler``, wrapped as ``Tuner.fit``
wraps them) are called through their own interfaces by a small event-driven controller, as Syne Tune's
simulator backend does: ``n_workers`` slots, each reported epoch advancing its trial's clock by the epoch's
(predicted) seconds, events processed in clock order. The controller keeps the calling conventions of Ray
2.60's ``TuneController`` that decide what a searcher learns:

* a result goes to ``scheduler.on_trial_result`` first, then to ``search_alg.on_trial_result`` unless the
  decision is STOP;
* a RUNNING trial that stops hands its last result to ``on_trial_complete``; a PAUSED or PENDING trial that a
  scheduler stops (HyperBand culling a bracket) gets ``on_trial_remove`` and ``on_trial_complete(trial_id)``
  with no result, exactly where Ray's controller does;
* model-based searchers have one trial pending ahead (Ray's ``TUNE_MAX_PENDING_TRIALS_PG=auto``), the random
  and grid generators may queue more.

A run that can neither start nor create a trial while the searcher is not finished is reported as
``stalled`` (Ray's controller would wait for ever there).
"""

from __future__ import annotations

import heapq
import itertools
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from engines.backends.ray_search import METRIC, MODE, RaySearch

__all__ = ["CurveModel", "SimulatedEpoch", "SimulatedRun", "simulate_search"]

# (model hparams, epoch) -> (val_accuracy, seconds the epoch takes)
CurveModel = Callable[[Mapping[str, Any], int], "tuple[float, float]"]


@dataclass(frozen=True)
class SimulatedEpoch:
    """One reported epoch: which trial, which epoch, its score, the clock when it ended, epochs run so far."""

    trial_id: str
    epoch: int
    val_accuracy: float
    clock_s: float
    epochs_so_far: int


@dataclass
class SimulatedRun:
    """What a simulated search did, in the order it happened."""

    epochs: list[SimulatedEpoch] = field(default_factory=list)
    trials: dict[str, dict[str, Any]] = field(default_factory=dict)  # trial_id -> hparams, epochs, status
    stalled: bool = False
    searcher_finished: bool = False
    most_running: int = 0  # the most trials running at once (what --max-concurrent caps)

    @property
    def best(self) -> float:
        return max((e.val_accuracy for e in self.epochs), default=float("nan"))

    def anytime(self) -> list[tuple[int, float, float]]:
        """(epochs so far, clock seconds, best so far) after every reported epoch."""
        best, points = float("-inf"), []
        for e in self.epochs:
            best = max(best, e.val_accuracy)
            points.append((e.epochs_so_far, e.clock_s, best))
        return points


def _search_algorithm(search: RaySearch, max_concurrent: int | None) -> Any:
    """The search algorithm as ``Tuner.fit`` wraps it: a Searcher in a SearchGenerator (and ConcurrencyLimiter)."""
    from ray.tune.search import ConcurrencyLimiter, SearchAlgorithm, SearchGenerator

    alg = search.search_alg
    if isinstance(alg, SearchAlgorithm):
        return alg
    if max_concurrent:
        alg = ConcurrencyLimiter(alg, max_concurrent=max_concurrent)
    return SearchGenerator(alg)


def _no_op_trainable(config: Mapping[str, Any]) -> None:  # registered so Ray can build Trial objects
    return None


class _Controller:
    """The part of ``TuneController`` that schedulers call back into."""

    def __init__(self, search_alg: Any, scheduler: Any) -> None:
        self.search_alg, self.scheduler = search_alg, scheduler
        self.trials: list[Any] = []
        self.on_stop: Callable[[Any], None] = lambda trial: None

    # --- the controller interface the schedulers use
    def get_trials(self) -> list[Any]:
        return list(self.trials)

    def get_live_trials(self) -> list[Any]:
        from ray.tune.experiment import Trial

        return [t for t in self.trials if t.status not in (Trial.TERMINATED, Trial.ERROR)]

    def stop_trial(self, trial: Any) -> None:
        """Ray's ``TuneController.stop_trial``: the same calls in the same order, for each status."""
        from ray.tune.experiment import Trial

        if trial.status in (Trial.ERROR, Trial.TERMINATED):
            return
        if trial.status in (Trial.PENDING, Trial.PAUSED):
            self.scheduler.on_trial_remove(self, trial)
            self.search_alg.on_trial_complete(trial.trial_id)
        elif trial.status == Trial.RUNNING:
            self.scheduler.on_trial_complete(self, trial, trial.last_result)
            self.search_alg.on_trial_complete(trial.trial_id, result=trial.last_result)
        trial.set_status(Trial.TERMINATED)
        self.on_stop(trial)


def simulate_search(
    search: RaySearch,
    scheduler: Any,
    curve: CurveModel,
    *,
    max_epochs: int,
    n_workers: int = 4,
    max_concurrent: int | None = None,
    max_events: int = 1_000_000,
    start_fails: Callable[[str, int], bool] | None = None,
) -> SimulatedRun:
    """Run one search to its end (or its stall) on a simulated clock.

    Args:
        search: what :func:`engines.backends.ray_search.build_search` made (its ``num_samples`` trials).
        scheduler: what :func:`engines.backends.ray_search.build_scheduler` made.
        curve: the stand-in trainable: ``(hparams, epoch) -> (val_accuracy, epoch_seconds)``.
        max_epochs: the most epochs a trial trains (the trainable returns after this one).
        n_workers: trials that run at once (the cluster's slots).
        max_concurrent: ``--max-concurrent``: Ray's ConcurrencyLimiter around a Searcher (random and grid take it
            in ``build_search``).
        max_events: a guard against a scheduler that never ends a trial.
        start_fails: ``(trial_id, epochs done) -> True`` where starting that trial fails as Ray's "Could not
            re-use actor" does: the trial is set ERROR and nobody is told (``TuneController._on_trial_reset``).
    """
    from ray.tune.experiment import Experiment, Trial
    from ray.tune.schedulers import TrialScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    alg = _search_algorithm(search, max_concurrent)
    alg.set_search_properties(METRIC, MODE, search.param_space)
    scheduler.set_search_properties(METRIC, MODE)
    storage = tempfile.mkdtemp(prefix="simulated-search-")
    alg.add_configurations([Experiment("simulated", _no_op_trainable, config=search.param_space,
                                       num_samples=search.num_samples, storage_path=storage)])
    pending_ahead = 16 if isinstance(alg, BasicVariantGenerator) else 1
    controller = _Controller(alg, scheduler)
    run = SimulatedRun()
    events: list[tuple[float, int, Any]] = []
    order = itertools.count()
    running: set[str] = set()
    done_epochs: dict[str, int] = {}
    clock = {"now": 0.0, "epochs": 0}
    decode = search.decode or (lambda config: dict(config))

    def hparams(trial: Any) -> dict[str, Any]:
        return decode(trial.config)

    def start(trial: Any) -> None:
        if start_fails is not None and start_fails(trial.trial_id, done_epochs[trial.trial_id]):
            trial.set_status(Trial.ERROR)  # neither scheduler nor searcher hears of it, as in Ray's controller
            run.trials[trial.trial_id].update(status="error", epochs=done_epochs[trial.trial_id])
            return
        trial.set_status(Trial.RUNNING)
        running.add(trial.trial_id)
        schedule_next_epoch(trial)

    def schedule_next_epoch(trial: Any) -> None:
        epoch = done_epochs[trial.trial_id] + 1
        _, seconds = curve(hparams(trial), epoch)
        heapq.heappush(events, (clock["now"] + seconds, next(order), trial))

    def stopped(trial: Any) -> None:
        running.discard(trial.trial_id)
        run.trials[trial.trial_id].update(status="stopped" if done_epochs[trial.trial_id] < max_epochs else "complete",
                                          epochs=done_epochs[trial.trial_id])

    controller.on_stop = stopped

    def add_trials() -> None:
        while sum(t.status == Trial.PENDING for t in controller.trials) < pending_ahead and not alg.is_finished():
            trial = alg.next_trial()
            if trial is None:
                return
            controller.trials.append(trial)
            done_epochs[trial.trial_id] = 0
            run.trials[trial.trial_id] = {"hparams": hparams(trial), "epochs": 0, "status": "pending"}
            scheduler.on_trial_add(controller, trial)

    def fill_slots() -> None:
        while len(running) < n_workers:
            add_trials()
            trial = scheduler.choose_trial_to_run(controller)
            if trial is None:
                return
            start(trial)
            run.most_running = max(run.most_running, len(running))

    for _ in range(max_events):
        fill_slots()
        if not events:
            run.searcher_finished = alg.is_finished()
            live = controller.get_live_trials()
            run.stalled = bool(live) or not run.searcher_finished
            return run
        clock["now"], _, trial = heapq.heappop(events)
        epoch = done_epochs[trial.trial_id] = done_epochs[trial.trial_id] + 1
        clock["epochs"] += 1
        value, seconds = curve(hparams(trial), epoch)
        run.epochs.append(SimulatedEpoch(trial.trial_id, epoch, value, clock["now"], clock["epochs"]))
        result = {METRIC: value, "training_iteration": epoch, "epoch": epoch, "time_this_iter_s": seconds,
                  "trial_id": trial.trial_id, "done": False, "config": trial.config}
        decision = scheduler.on_trial_result(controller, trial, result)
        if decision != TrialScheduler.STOP:
            alg.on_trial_result(trial.trial_id, result)
        trial.update_last_result(result)
        if decision == TrialScheduler.STOP or (decision == TrialScheduler.CONTINUE and epoch >= max_epochs):
            controller.stop_trial(trial)  # a CONTINUE at the last epoch: the trainable returns, the trial ends
        elif decision == TrialScheduler.PAUSE:
            trial.set_status(Trial.PAUSED)
            running.discard(trial.trial_id)
        else:
            schedule_next_epoch(trial)
    raise RuntimeError(f"simulate_search: more than {max_events} events; a scheduler never ended its trials")
