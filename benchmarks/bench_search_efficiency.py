"""Search efficiency: how fast each method finds a good model on one fixed task and one epoch budget.

Every method runs through the user's entry point (``tune_cluster.py``) on the same saved
synthetic EEG table, the same ``--max-epochs`` and seeds; its anytime curve (best validation
accuracy so far) is read back with :func:`engines.progress.read_progress`, the same reader
``report`` uses, and cut at the common budget of ``--budget`` epochs. The best config inside
the budget is then trained once more and scored on the held-out test split with ``verify``'s
machinery (:func:`eeg.training.train_model` + :func:`eeg.training.evaluate`, same split).

Usage: python benchmarks/bench_search_efficiency.py [--quick] [--seeds 3] [--out benchmarks/]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_common_args, dataset_npz, merge_result, run_cli, spread  # noqa: E402

__all__ = ["METHODS", "Method", "first_reaching", "main"]


@dataclass(frozen=True)
class Method:
    """One way to tune: its flags, and how many trials it gets to spend about the same epoch budget."""

    key: str
    label: str
    flags: tuple[str, ...]
    early_stopping: bool  # stops trials early: gets ~3x the trials of a FIFO method for the same epochs


METHODS: tuple[Method, ...] = (
    Method("random_fifo", "Random + FIFO (reference)", ("--searcher", "random", "--scheduler", "fifo"), False),
    Method("tpe_fifo", "Optuna TPE + FIFO", ("--searcher", "optuna", "--scheduler", "fifo"), False),
    Method("tpe_asha", "Optuna TPE + ASHA (default)", ("--searcher", "optuna", "--scheduler", "asha"), True),
    Method("hyperopt_asha", "HyperOpt TPE + ASHA", ("--searcher", "hyperopt", "--scheduler", "asha"), True),
    Method("bayesopt_hyperband", "BayesOpt + HyperBand", ("--searcher", "bayesopt", "--scheduler", "hyperband"), True),
    Method("bohb", "BOHB", ("--searcher", "bohb", "--scheduler", "bohb"), True),
    Method("kt_bayesian", "Keras Tuner Bayesian", ("--method", "keras-tuner", "--tuning-algorithm", "bayesian"), False),
    Method("kt_hyperband", "Keras Tuner Hyperband", ("--method", "keras-tuner", "--tuning-algorithm", "hyperband"), True),
    Method("optuna_native", "native Optuna TPE + pruner", ("--method", "optuna", "--scheduler", "asha"), True),
)


def first_reaching(curve: list[tuple[float, float, float]], target: float, index: int) -> float | None:
    """The epochs (``index`` 0) or seconds (1) at which ``curve``'s best-so-far first reaches ``target``."""
    for point in curve:
        if point[2] >= target - 1e-9:
            return point[index]
    return None


def _curve(experiment: Path, budget: int) -> tuple[list[tuple[float, float, float]], dict[str, Any], float | None]:
    """(epochs, seconds, best so far) per epoch within the budget, the best trial's params, and the best value."""
    from engines.plots import anytime_series
    from engines.progress import read_progress

    progress = read_progress(experiment)
    series = anytime_series(progress)
    shift = _ray_start_shift(experiment)
    curve = [(e, s + shift, b) for e, s, b in zip(series["epochs"], series["seconds"], series["best"]) if e <= budget]
    if not curve:
        return [], {}, None
    # The best trial inside the budget: the one whose epoch first set the final best-so-far.
    events = sorted(((end, value, trial) for trial in progress.trials
                     for end, value in zip(trial.epoch_end_s or [], trial.val_accuracy) if value == value),
                    key=lambda event: event[0])[:budget]
    best_value = max(v for _, v, _ in events)
    best_trial = next(t for _, v, t in events if v == best_value)
    params = {k: _plain(v) for k, v in best_trial.params.items() if not _missing(v)}
    return curve, params, best_value


def _ray_start_shift(experiment: Path) -> float:
    """Ray's curve starts at the first epoch's end; add the first trial's set-up and epoch so every method starts at 0."""
    import json

    firsts = []
    for file in experiment.glob("trial_*/result.json"):
        line = file.read_text().split("\n", 1)[0]
        try:
            row = json.loads(line)
            firsts.append((row["timestamp"], row["time_total_s"]))
        except (ValueError, KeyError):
            continue
    return min(firsts)[1] if firsts else 0.0


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _test_accuracy(params: dict[str, Any], data_file: Path, epochs: int) -> float:
    """Train the config once (seed 0) on the non-test data and score it on the test split, as ``verify`` does."""
    from engines.data import prepare_experiment_data
    from engines.settings import load_settings
    from eeg.model import resolve_hparams
    from eeg.training import evaluate, import_tensorflow_quietly, train_model

    import_tensorflow_quietly()
    prepared = prepare_experiment_data(load_settings({"data": str(data_file), "dataset": "table"})).prepared
    model, _ = train_model(resolve_hparams(params), prepared, epochs=epochs, seed=0)
    return evaluate(model, prepared.X_test, prepared.y_test, prepared.y_train)["accuracy"]


def _plot(curves: dict[str, list[list[tuple[float, float, float]]]], index: int, path: Path, budget: int) -> None:
    """Median best-so-far over seeds per method (line) and its min-max band, all methods on one axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import PercentFormatter

    figure, axes = plt.subplots(figsize=(12, 6.5))
    styles = ["-", "--", "-", "-.", ":", "--", "-.", ":", "-"]
    top = max((p[1] for runs in curves.values() for run in runs for p in run), default=1.0)
    grid = np.arange(1, budget + 1) if index == 0 else np.linspace(0, top, 200)
    for (key, runs), style, colour in zip(curves.items(), styles, plt.cm.tab10.colors):
        stacked = []
        for run in runs:
            # Sorted by this axis, best so far taken again along it: epochs that end in one order can end in
            # another by the clock (parallel trials), and a median of unsorted steps dipped.
            ordered = sorted(run, key=lambda p: p[index])
            xs = [p[index] for p in ordered]
            ys = list(np.maximum.accumulate([p[2] for p in ordered])) if ordered else []
            # best so far at each grid point (NaN before the first epoch ends)
            at = np.searchsorted(xs, grid, side="right") - 1
            stacked.append(np.where(at >= 0, np.array(ys)[np.clip(at, 0, None)] if ys else np.nan, np.nan))
        if not stacked:
            continue
        values = np.array(stacked, dtype=float)
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                # Only where every seed has a model: a median over the seeds started so far drops when a late one
                # starts low, which no run's best-so-far ever does.
                median = np.where(np.isfinite(values).all(axis=0), np.nanmedian(values, axis=0), np.nan)
                low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        x = grid / 60 if index == 1 else grid
        label = next(m.label for m in METHODS if m.key == key)
        axes.step(x, median, where="post", linestyle=style, color=colour, linewidth=2.2, label=label)
        axes.fill_between(x, low, high, step="post", color=colour, alpha=0.10)
    axes.set_xlabel("epochs trained, all trials together" if index == 0 else "minutes since the search started",
                    fontsize=13)
    axes.set_ylabel("best validation accuracy so far", fontsize=13)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.tick_params(labelsize=12)
    axes.grid(alpha=0.3)
    n = max(len(r) for r in curves.values())
    axes.set_title(f"Anytime best validation accuracy: median of {n} seed(s), band = min-max", fontsize=14)
    axes.legend(fontsize=11, loc="center left", bbox_to_anchor=(1.01, 0.5))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, default=4)
    parser.add_argument("--budget", type=int, default=16, help="epochs all trials of one run may spend together")
    parser.add_argument("--methods", default=",".join(m.key for m in METHODS))
    parser.add_argument("--work", help="folder for the experiments (default: a temporary one); runs that finished "
                        "there before are read back, not run again")
    parser.add_argument("--finished-only", action="store_true",
                        help="run nothing: summarise the runs of --work that finished (a deadline cut the rest)")
    parser.add_argument("--walls-from", help="the log of an earlier run of this script: its 'command N s' lines give "
                        "the wall time of the runs it finished")
    args = parser.parse_args()
    if args.quick:  # the methods the two ratios need plus both native engines; tests cover every searcher
        args.seeds, args.max_epochs, args.budget = 1, 2, 4
        args.methods = "random_fifo,tpe_asha,kt_bayesian,optuna_native"
    chosen = [m for m in METHODS if m.key in args.methods.split(",")]
    out = Path(args.out)
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-search-"))
    data_file = dataset_npz(work, smoke=args.quick)
    fifo_trials = max(1, args.budget // args.max_epochs)
    curves: dict[str, list] = {m.key: [] for m in chosen}
    rows: dict[str, dict[str, list]] = {m.key: {"final_best": [], "epochs_used": [], "wall_s": [], "params": [],
                                                "test_accuracy": []} for m in chosen}
    for seed in range(args.seeds):
        for method in chosen:  # methods interleaved within a seed, so machine load drifts over all of them
            trials = fifo_trials * (3 if method.early_stopping else 1) + (1 if method.key == "kt_bayesian" else 0)
            name = f"{method.key}-s{seed}"
            flags = ["--data", str(data_file), "--dataset", "table", *method.flags, "--max-trials", str(trials),
                     "--max-epochs", str(args.max_epochs), "--grace-period", "1", "--seed", str(seed),
                     "--output-dir", str(work / "out"), "--name", name, "--verbose", "0"]
            wall = _earlier_wall(work, name, args.walls_from)
            if wall is None:
                if args.finished_only:
                    continue
                wall = run_cli(flags, work / f"{name}.log")
                (work / f"{name}.wall").write_text(f"{wall}\n")
            curve, params, best = _curve(work / "out" / "tuning" / name, args.budget)
            curves[method.key].append(curve)
            row = rows[method.key]
            row["final_best"].append(best)
            row["epochs_used"].append(curve[-1][0] if curve else 0)
            row["wall_s"].append(round(wall, 1))
            row["params"].append(params)
            print(f"seed {seed} {method.key}: best {best} in {row['epochs_used'][-1]} epochs, command {wall:.0f} s",
                  flush=True)
    for method in chosen:  # the test split is read only here, after every search is over
        for params in rows[method.key]["params"]:
            rows[method.key]["test_accuracy"].append(_test_accuracy(params, data_file, args.max_epochs) if params else None)
    figures = _figures(chosen, curves, rows, args)
    plots = out / "plots"
    _plot(curves, 0, plots / ("search_efficiency_epochs.png"), args.budget)
    _plot(curves, 1, plots / ("search_efficiency_wall.png"), args.budget)
    figures["plots"] = ["plots/search_efficiency_epochs.png", "plots/search_efficiency_wall.png"]
    merge_result(out, "search_efficiency", figures)
    print(f"epoch speedup of TPE+ASHA vs random+FIFO: {figures['epoch_speedup_vs_random_fifo']}; "
          f"wall speedup vs Keras Tuner Bayesian: {figures['wall_speedup_vs_keras_tuner_bayesian']}")
    return 0


def _nth(runs: list, seed: int) -> list:
    """Seed ``seed``'s curve of a method, or [] where that run did not finish (runs go seed by seed)."""
    return runs[seed] if seed < len(runs) else []


def _earlier_wall(work: Path, name: str, log: str | None) -> float | None:
    """The wall time of a run that finished in ``work`` before (its sidecar, or the earlier script's log); else None."""
    import json
    import re

    summary = work / "out" / "tuning" / name / "summary.json"
    if not summary.is_file() or not json.loads(summary.read_text()).get("finished"):
        return None
    sidecar = work / f"{name}.wall"
    if sidecar.is_file():
        return float(sidecar.read_text())
    seed, key = name.rsplit("-s", 1)[1], name.rsplit("-s", 1)[0]
    if log and Path(log).is_file():
        found = re.search(rf"^seed {seed} {re.escape(key)}: .* command (\d+) s$", Path(log).read_text(), re.M)
        if found:
            return float(found.group(1))
    return None


def _figures(chosen: list[Method], curves: dict, rows: dict, args: Any) -> dict[str, Any]:
    """The keys of results.json: per-method spreads, and the two ratios the issue names."""
    keys = [m.key for m in chosen]
    per_method = {}
    reference = curves.get("random_fifo", [])
    for key in keys:
        to_reference = []
        for seed, curve in enumerate(curves[key]):
            target = reference[seed][-1][2] if seed < len(reference) and reference[seed] else None
            to_reference.append(first_reaching(curve, target, 0) if target is not None else None)
        per_method[key] = {
            "final_best_val_accuracy": spread(rows[key]["final_best"]),
            "test_accuracy_of_best": spread(rows[key]["test_accuracy"]),
            "epochs_used": spread(rows[key]["epochs_used"]),
            "command_wall_s": spread(rows[key]["wall_s"]),
            "epochs_to_reference_best": spread(to_reference),
            "reached_reference_best": f"{sum(v is not None for v in to_reference)} of {len(to_reference)} seeds",
            "best_params": rows[key]["params"],
        }
    epoch_speedups, wall_speedups = [], []
    for seed in range(args.seeds):
        ref = reference[seed] if seed < len(reference) else []
        tpe = _nth(curves.get("tpe_asha", []), seed)
        if ref and tpe:
            needed = first_reaching(ref, ref[-1][2], 0)
            got = first_reaching(tpe, ref[-1][2], 0)
            epoch_speedups.append(needed / got if got else 0.0)  # never reached within the budget: counted as 0
        kt = _nth(curves.get("kt_bayesian", []), seed)
        if kt and tpe:
            target = min(kt[-1][2], tpe[-1][2])  # equal best accuracy: the lower of the two finals, which both reach
            kt_s, tpe_s = first_reaching(kt, target, 1), first_reaching(tpe, target, 1)
            wall_speedups.append(kt_s / tpe_s if kt_s and tpe_s else None)
    medians = {k: per_method[k]["final_best_val_accuracy"]["median"] for k in keys}
    ranked = sorted((v, k) for k, v in medians.items() if v is not None)
    return {
        "epoch_speedup_vs_random_fifo": spread(epoch_speedups)["median"],
        "epoch_speedup_vs_random_fifo_per_seed": spread(epoch_speedups),
        "wall_speedup_vs_keras_tuner_bayesian": spread(wall_speedups)["median"],
        "wall_speedup_vs_keras_tuner_bayesian_per_seed": spread(wall_speedups),
        "best_method_by_median_final_val": ranked[-1][1] if ranked else None,
        "methods": per_method,
        "setup": {"seeds": args.seeds, "max_epochs": args.max_epochs, "epoch_budget": args.budget, "grace_period": 1,
                  "trials_fifo": max(1, args.budget // args.max_epochs),
                  "trials_early_stopping": 3 * max(1, args.budget // args.max_epochs),
                  "data": "synthetic EEG table (seed 0), split=trial, split_seed 0", "cpus": 2,
                  "test_accuracy": f"best config inside the budget trained once (seed 0) for {args.max_epochs} epochs"},
    }


if __name__ == "__main__":
    sys.exit(main())
