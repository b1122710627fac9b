"""Search efficiency at the scale of a night: every searcher x scheduler pairing against random search.

The real learning curves (``benchmarks/data/learning_curves.parquet``, made by
:mod:`benchmarks.record_learning_curves`) train a surrogate (:mod:`benchmarks.surrogate`); the searchers and
schedulers the job builds (:func:`engines.backends.ray_search.build_search` / ``build_scheduler``) then run
against it on a simulated clock (:func:`engines.backends.ray_search_simulator.simulate_search`): ``--workers``
trials at once, each reported epoch advancing the clock by its predicted seconds. Per pairing and seed: the
anytime best validation accuracy against epochs and hours, and how long it takes to reach what random + FIFO
reaches with all its trials. Also the cheapest sensible baseline: every trial one epoch, then the top k in full.

Usage: python benchmarks/bench_search_efficiency.py [--quick] [--seeds 10] [--trials 100] [--workers 4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HERE, add_common_args, merge_result, spread  # noqa: E402

__all__ = ["PAIRINGS", "Pairing", "OneEpochThenTopK", "add_simulation_args", "first_reaching", "main"]


@dataclass(frozen=True)
class Pairing:
    key: str
    label: str
    searcher: str
    scheduler: str  # a build_scheduler name, or "top_k" for the one-epoch baseline


PAIRINGS: tuple[Pairing, ...] = (
    Pairing("random_fifo", "Random + FIFO (reference)", "random", "fifo"),
    Pairing("one_epoch_top_k", "Random, 1 epoch each, top 10 in full", "random", "top_k"),
    Pairing("tpe_asha", "Optuna TPE + ASHA", "optuna", "asha"),
    Pairing("tpe_hyperband", "Optuna TPE + HyperBand", "optuna", "hyperband"),
    Pairing("hyperopt_asha", "HyperOpt TPE + ASHA", "hyperopt", "asha"),
    Pairing("hyperopt_hyperband", "HyperOpt TPE + HyperBand", "hyperopt", "hyperband"),
    Pairing("bayesopt_asha", "BayesOpt + ASHA", "bayesopt", "asha"),
    Pairing("bayesopt_hyperband", "BayesOpt + HyperBand", "bayesopt", "hyperband"),
    Pairing("bohb", "BOHB", "bohb", "bohb"),
    Pairing("tpe_median", "Optuna TPE + median stopping", "optuna", "median"),
)
TOP_K = 10


def _one_epoch_top_k_class() -> type:
    from ray.tune.experiment import Trial
    from ray.tune.schedulers import FIFOScheduler, TrialScheduler

    class OneEpochThenTopK(FIFOScheduler):
        """Every trial trains one epoch and pauses; once all have, the best ``k`` continue to the end (Egele et al.
        2023's one-epoch baseline), the others stop."""

        def __init__(self, n_trials: int, k: int) -> None:
            super().__init__()
            self.n_trials, self.k = n_trials, k
            self.first: dict[str, float] = {}
            self.promoted: set[str] = set()

        def on_trial_result(self, controller: Any, trial: Any, result: dict) -> str:
            if result["training_iteration"] > 1:
                return TrialScheduler.CONTINUE
            self.first[trial.trial_id] = result["val_accuracy"]
            if len(self.first) < self.n_trials:
                return TrialScheduler.PAUSE
            ranked = sorted(self.first, key=self.first.get, reverse=True)
            self.promoted = set(ranked[: self.k])
            for other in controller.get_trials():
                if other.status == Trial.PAUSED and other.trial_id not in self.promoted:
                    controller.stop_trial(other)
            return TrialScheduler.CONTINUE if trial.trial_id in self.promoted else TrialScheduler.STOP

        def choose_trial_to_run(self, controller: Any) -> Any:
            for trial in controller.get_trials():
                if trial.status == Trial.PENDING:
                    return trial
            for trial in controller.get_trials():
                if trial.status == Trial.PAUSED and trial.trial_id in self.promoted:
                    return trial
            return None

    return OneEpochThenTopK


def OneEpochThenTopK(n_trials: int, k: int) -> Any:  # noqa: N802 - builds the scheduler class above
    return _one_epoch_top_k_class()(n_trials, k)


def first_reaching(points: list[tuple[int, float, float]], target: float, index: int) -> float | None:
    """Epochs (``index`` 0) or seconds (1) at which the anytime best first reaches ``target``; None if never."""
    for point in points:
        if point[2] >= target - 1e-12:
            return point[index]
    return None


_SURROGATE: Any = None


def _init_worker(surrogate: Any) -> None:
    global _SURROGATE
    _SURROGATE = surrogate
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("ray").setLevel(logging.ERROR)


def _simulate(job: tuple[Pairing, int, int, int, int, int]) -> dict[str, Any]:
    """One (pairing, seed) search on the surrogate: its anytime curve and how it ended."""
    from eeg.model import DEFAULT_HPARAMS
    from engines.backends.ray_search import build_scheduler, build_search
    from engines.backends.ray_search_simulator import simulate_search
    from search_spaces import get_space

    pairing, seed, trials, workers, max_epochs, grace = job
    started = time.perf_counter()
    search = build_search(pairing.searcher, get_space(), max_trials=trials, seed=seed, defaults=DEFAULT_HPARAMS)
    if pairing.scheduler == "top_k":
        scheduler = OneEpochThenTopK(trials, TOP_K)
    else:
        scheduler = build_scheduler(pairing.scheduler, max_epochs=max_epochs, grace_period=grace)
    run = simulate_search(search, scheduler, _SURROGATE.stand_in(seed), max_epochs=max_epochs, n_workers=workers)
    return {"key": pairing.key, "seed": seed, "anytime": run.anytime(), "trials": len(run.trials),
            "stalled": run.stalled, "completed": not run.stalled and len(run.trials) == trials,
            "seconds": time.perf_counter() - started}


def _figures(runs: dict[str, dict[int, dict]], chosen: list[Pairing], default_key: str, args: Any,
             surrogate: Any, n_configs: int) -> dict[str, Any]:
    reference = runs["random_fifo"]
    pairings: dict[str, Any] = {}
    for pairing in chosen:
        finals, epochs_to, hours_to, speedups = [], [], [], []
        for seed, run in runs[pairing.key].items():
            points = run["anytime"]
            finals.append(points[-1][2] if points else None)
            ref_points = reference[seed]["anytime"]
            target = ref_points[-1][2]
            needed = first_reaching(ref_points, target, 0)
            got = first_reaching(points, target, 0)
            seconds = first_reaching(points, target, 1)
            epochs_to.append(got)
            hours_to.append(None if seconds is None else seconds / 3600)
            speedups.append(needed / got if got else 0.0)  # never reached: counted as no speed-up at all
        pairings[pairing.key] = {
            "label": pairing.label,
            "final_best_median": spread(finals)["median"],
            "final_best": spread(finals),
            "epochs_to_random_best_median": _median_or_none(epochs_to),
            "hours_to_random_best_median": _median_or_none(hours_to, digits=3),
            "reached_random_best": f"{sum(v is not None for v in epochs_to)} of {len(epochs_to)} seeds",
            "epoch_speedup_vs_random_fifo": spread(speedups),
            "epochs_used_median": statistics.median(r["anytime"][-1][0] for r in runs[pairing.key].values()),
            "hours_used_median": round(statistics.median(r["anytime"][-1][1] for r in runs[pairing.key].values())
                                       / 3600, 3),
            "completed_runs": sum(r["completed"] for r in runs[pairing.key].values()),
            "stalled_runs": sum(r["stalled"] for r in runs[pairing.key].values()),
            "simulation_seconds_median": round(statistics.median(r["seconds"] for r in runs[pairing.key].values()), 2),
        }
    return {
        "epoch_speedup_vs_random_fifo": pairings[default_key]["epoch_speedup_vs_random_fifo"]["median"],
        "default_pairing": default_key,
        "seeds": args.seeds,
        "trials_per_search": args.trials,
        "surrogate_rank_correlation": round(surrogate.rank_correlation, 3),
        "surrogate_rank_correlation_all_epochs": round(surrogate.rank_correlation_all_epochs, 3),
        "surrogate_epoch_noise_sd": round(surrogate.noise_sd, 4),
        "pairings": pairings,
        "setup": {"workers": args.workers, "max_epochs": surrogate.max_epochs, "grace_period": args.grace_period,
                  "reduction_factor": 3, "recorded_configurations": n_configs, "top_k": TOP_K,
                  "curves": str(Path(args.curves).relative_to(HERE.parent)) if Path(args.curves).is_absolute()
                  and HERE.parent in Path(args.curves).parents else args.curves,
                  "speedup": "median over seeds of (epochs random+FIFO needs to reach its final best) / (epochs the "
                             "pairing needs to reach that value); 0 where it never does"},
    }


def _median_or_none(values: list[float | None], digits: int = 1) -> float | None:
    kept = [v for v in values if v is not None]
    return round(statistics.median(kept), digits) if len(kept) * 2 > len(values) else None  # most seeds must reach


def add_simulation_args(parser: Any) -> None:
    """The recorded curves, seeds, trials per search and simulated workers (this benchmark's and bench_asha_settings')."""
    parser.add_argument("--curves", default=str(HERE / "data" / "learning_curves.parquet"))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4, help="trials running at once (simulated)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    add_simulation_args(parser)
    parser.add_argument("--grace-period", type=int, default=1)
    parser.add_argument("--processes", type=int, default=2, help="simulations run in parallel (CPU cores)")
    parser.add_argument("--pairings", default=",".join(p.key for p in PAIRINGS))
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.trials, args.pairings = 2, 20, "random_fifo,one_epoch_top_k,tpe_asha,bayesopt_hyperband"
    import pandas as pd

    from engines.experiment.settings import DEFAULTS
    from search_spaces import get_space
    from surrogate import fit_surrogate

    frame = pd.read_parquet(args.curves)
    n_configs = int(frame["config_id"].nunique())
    surrogate = fit_surrogate(frame, get_space())
    print(f"surrogate on {n_configs} recorded configurations: Spearman {surrogate.rank_correlation:.3f} on held-out "
          f"configurations (final epoch), {surrogate.rank_correlation_all_epochs:.3f} over all epochs", flush=True)
    chosen = [p for p in PAIRINGS if p.key in args.pairings.split(",")]
    if "random_fifo" not in {p.key for p in chosen}:
        chosen.insert(0, PAIRINGS[0])
    default_key = next((p.key for p in chosen if (p.searcher, p.scheduler) == (DEFAULTS["searcher"],
                                                                                 DEFAULTS["scheduler"])), "tpe_asha")
    jobs = [(p, seed, args.trials, args.workers, surrogate.max_epochs, args.grace_period)
            for seed in range(args.seeds) for p in chosen]
    runs: dict[str, dict[int, dict]] = {p.key: {} for p in chosen}
    context = multiprocessing.get_context("spawn")  # fork after OpenMP (the surrogate's HGB) deadlocks
    with context.Pool(args.processes, initializer=_init_worker, initargs=(surrogate,)) as pool:
        for result in pool.imap_unordered(_simulate, jobs):
            runs[result["key"]][result["seed"]] = result
            print(f"{result['key']} seed {result['seed']}: {result['trials']} trials, best "
                  f"{result['anytime'][-1][2]:.3f} after {result['anytime'][-1][0]} epochs"
                  f"{', STALLED' if result['stalled'] else ''} ({result['seconds']:.0f} s)", flush=True)
    figures = _figures(runs, chosen, default_key, args, surrogate, n_configs)
    out = Path(args.out)
    from search_efficiency_plot import plot_anytime

    plot_anytime(runs, chosen, out / "plots" / "search_efficiency.png", title_seeds=args.seeds,
                 trials=args.trials, workers=args.workers)
    figures["plots"] = ["plots/search_efficiency.png"]
    merge_result(out, "search_efficiency", figures)
    for key, row in figures["pairings"].items():
        print(f"{key:20s} final best {row['final_best_median']}, epochs to random's best "
              f"{row['epochs_to_random_best_median']} ({row['reached_random_best']}), speed-up "
              f"{row['epoch_speedup_vs_random_fifo']['median']}, completed {row['completed_runs']}", flush=True)
    print(f"default {default_key}: epoch speed-up vs random + FIFO {figures['epoch_speedup_vs_random_fifo']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
