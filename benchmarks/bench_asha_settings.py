"""Which grace period, reduction factor and epoch budget the default pairing should run with (issue 14, item 3).

The same surrogate and simulator as :mod:`bench_search_efficiency` (the recorded learning curves, Ray's own
Optuna TPE searcher and ASHA scheduler built by the job's ``build_search`` / ``build_scheduler``, a simulated
clock, 4 trials at once). One setting is varied at a time around the search-efficiency run's setting
(grace 1, reduction factor 3, 40 epochs), plus the CLI's defaults before this benchmark (grace 2, 12 epochs).
Every setting is scored against one target: the final best of random + FIFO with the full 40 epochs a trial,
seed by seed, which is the best a night of random search gives on these curves.

Usage: python benchmarks/bench_asha_settings.py [--quick] [--seeds 10] [--trials 100]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_search_efficiency  # noqa: E402 - its pool initializer holds the surrogate in each worker
from bench_search_efficiency import add_simulation_args, first_reaching  # noqa: E402
from common import add_common_args, merge_result, spread  # noqa: E402

__all__ = ["SETTINGS", "Setting", "main", "score_setting"]


@dataclass(frozen=True)
class Setting:
    grace_period: int
    reduction_factor: int
    max_epochs: int

    @property
    def key(self) -> str:
        return f"grace{self.grace_period}_rf{self.reduction_factor}_epochs{self.max_epochs}"


SETTINGS: tuple[Setting, ...] = (
    Setting(1, 3, 40),  # the search-efficiency run's setting: the centre
    Setting(2, 3, 40),
    Setting(4, 3, 40),
    Setting(1, 2, 40),
    Setting(1, 4, 40),
    Setting(1, 3, 20),
    Setting(1, 3, 12),
    Setting(2, 3, 12),  # the CLI's defaults before this benchmark
    Setting(2, 3, 20),
)
REFERENCE_EPOCHS = 40

def _simulate(job: tuple[str, Setting | None, int, int, int]) -> dict[str, Any]:
    """One search on the surrogate: TPE + ASHA with ``setting``, or (setting None) random + FIFO at 40 epochs."""
    from eeg.model import DEFAULT_HPARAMS
    from engines.backends.ray_search import build_scheduler, build_search
    from engines.backends.ray_search_simulator import simulate_search
    from search_spaces import get_space

    key, setting, seed, trials, workers = job
    started = time.perf_counter()
    if setting is None:
        search = build_search("random", get_space(), max_trials=trials, seed=seed, defaults=DEFAULT_HPARAMS)
        scheduler, max_epochs = build_scheduler("fifo", max_epochs=REFERENCE_EPOCHS, grace_period=1), REFERENCE_EPOCHS
    else:
        search = build_search("optuna", get_space(), max_trials=trials, seed=seed, defaults=DEFAULT_HPARAMS)
        scheduler = build_scheduler("asha", max_epochs=setting.max_epochs, grace_period=setting.grace_period,
                                    reduction_factor=setting.reduction_factor)
        max_epochs = setting.max_epochs
    run = simulate_search(search, scheduler, bench_search_efficiency._SURROGATE.stand_in(seed), max_epochs=max_epochs, n_workers=workers)
    return {"key": key, "seed": seed, "anytime": run.anytime(), "trials": len(run.trials),
            "completed": not run.stalled and len(run.trials) == trials, "seconds": time.perf_counter() - started}


def score_setting(runs: dict[int, dict], reference: dict[int, dict]) -> dict[str, Any]:
    """Final best, epochs and hours used, and how soon each seed reaches random + FIFO's final best (same seed)."""
    finals, epochs_to, hours_to, speedups = [], [], [], []
    for seed, run in runs.items():
        points, ref_points = run["anytime"], reference[seed]["anytime"]
        target = ref_points[-1][2]
        needed, got = first_reaching(ref_points, target, 0), first_reaching(points, target, 0)
        finals.append(points[-1][2])
        epochs_to.append(got)
        seconds = first_reaching(points, target, 1)
        hours_to.append(None if seconds is None else seconds / 3600)
        speedups.append(needed / got if got else 0.0)  # never reached: no speed-up at all
    reached = [v for v in epochs_to if v is not None]
    return {
        "final_best_median": spread(finals)["median"],
        "final_best": spread(finals),
        "final_best_minus_random_median": statistics.median(
            run["anytime"][-1][2] - reference[seed]["anytime"][-1][2] for seed, run in runs.items()),
        "reached_random_best": f"{len(reached)} of {len(epochs_to)} seeds",
        "epochs_to_random_best_median": round(statistics.median(reached), 1) if len(reached) * 2 > len(epochs_to)
        else None,
        "epoch_speedup_vs_random_fifo": spread(speedups),
        "epochs_used_median": statistics.median(r["anytime"][-1][0] for r in runs.values()),
        "hours_used_median": round(statistics.median(r["anytime"][-1][1] for r in runs.values()) / 3600, 3),
        "completed_runs": sum(r["completed"] for r in runs.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    add_simulation_args(parser)
    parser.add_argument("--processes", type=int, default=2, help="simulations run in parallel (CPU cores)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--settings", default=",".join(s.key for s in SETTINGS), help="keys to run, comma-separated")
    parser.add_argument("--key", default="asha_settings", help="the results.json key written")
    args = parser.parse_args()
    settings = tuple(s for s in SETTINGS if s.key in args.settings.split(","))
    if args.quick:
        args.seeds, args.trials, settings = 2, 20, SETTINGS[:2]
    import pandas as pd

    from search_spaces import get_space
    from surrogate import fit_surrogate

    surrogate = fit_surrogate(pd.read_parquet(args.curves), get_space())
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [("random_fifo", None, seed, args.trials, args.workers) for seed in seeds]
    jobs += [(s.key, s, seed, args.trials, args.workers) for seed in seeds for s in settings]
    runs: dict[str, dict[int, dict]] = {}
    context = multiprocessing.get_context("spawn")  # fork after OpenMP (the surrogate's HGB) deadlocks
    with context.Pool(args.processes, initializer=bench_search_efficiency._init_worker, initargs=(surrogate,)) as pool:
        for result in pool.imap_unordered(_simulate, jobs):
            runs.setdefault(result["key"], {})[result["seed"]] = result
            print(f"{result['key']} seed {result['seed']}: best {result['anytime'][-1][2]:.3f} after "
                  f"{result['anytime'][-1][0]} epochs ({result['seconds']:.0f} s)", flush=True)
    reference = runs.pop("random_fifo")
    figures = {
        "settings": {s.key: {"grace_period": s.grace_period, "reduction_factor": s.reduction_factor,
                             "max_epochs": s.max_epochs, **score_setting(runs[s.key], reference)}
                     for s in settings},
        "random_fifo": {"max_epochs": REFERENCE_EPOCHS,
                        "final_best_median": statistics.median(r["anytime"][-1][2] for r in reference.values()),
                        "epochs_used_median": statistics.median(r["anytime"][-1][0] for r in reference.values())},
        "setup": {"pairing": "Optuna TPE + ASHA", "seeds": args.seeds, "first_seed": args.first_seed, "trials_per_search": args.trials,
                  "workers": args.workers, "surrogate_rank_correlation": round(surrogate.rank_correlation, 3),
                  "target": "each seed's random + FIFO final best at 40 epochs a trial"},
    }
    merge_result(args.out, args.key, figures)
    print(f"\n{'setting':<24} {'final best':>10} {'vs random':>9} {'reached':>12} {'epochs to it':>12} "
          f"{'speed-up':>8} {'epochs used':>11}")
    for key, row in figures["settings"].items():
        epochs_to = row["epochs_to_random_best_median"]
        print(f"{key:<24} {row['final_best_median']:>10.3f} {row['final_best_minus_random_median']:>+9.3f} "
              f"{row['reached_random_best']:>12} {epochs_to if epochs_to is not None else '-':>12} "
              f"{row['epoch_speedup_vs_random_fifo']['median']:>8.2f} {row['epochs_used_median']:>11}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
