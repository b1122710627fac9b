"""The surrogate's verdict checked on the real model: one real tuning run per main pairing, same budget, one seed.

``bench_search_efficiency.py`` ranks the pairings on a surrogate of recorded learning curves. Here each
main pairing and random + FIFO tune the real CNN + LSTM through the CLI (``--use-dummy-data``, the trial
split) with the same trials, epochs and seed. From every trial's reports in Ray's storage (their
timestamps order them across the concurrent trials) come the anytime best validation accuracy against
cumulative epochs, the final best, and the epochs each pairing needed to reach random + FIFO's final best.
The ranking by that figure is compared with the surrogate's (``search_efficiency.pairings`` in results.json).

Usage: python benchmarks/bench_search_real.py [--trials 40] [--epochs 20] [--seed 0] [--work DIR] [--quick]
With ``--work DIR`` each finished run is appended to ``DIR/runs.jsonl`` and a rerun skips it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, add_common_args, append_jsonl_row, merge_result, read_jsonl_rows, run_cli  # noqa: E402

__all__ = ["PAIRINGS", "anytime_from_reports", "epochs_to_reach", "main"]

# (results.json key as in search_efficiency.pairings, searcher, scheduler): the reference and the four the product names.
PAIRINGS = (("random_fifo", "random", "fifo"), ("tpe_asha", "optuna", "asha"), ("hyperopt_asha", "hyperopt", "asha"),
            ("tpe_hyperband", "optuna", "hyperband"), ("bayesopt_hyperband", "bayesopt", "hyperband"))


def anytime_from_reports(reports: list[tuple[float, int, float]]) -> list[float]:
    """Best validation accuracy so far after each reported epoch ``(time, epoch, accuracy)``, all trials in time order."""
    best, curve = float("-inf"), []
    for *_, accuracy in sorted(reports):
        best = max(best, accuracy)
        curve.append(best)
    return curve


def epochs_to_reach(curve: list[float], target: float) -> int | None:
    """Cumulative epochs until the anytime curve first reaches ``target`` (None: it never does)."""
    return next((i + 1 for i, value in enumerate(curve) if value >= target - 1e-9), None)


def _reports(experiment: Path) -> list[tuple[float, int, float]]:
    """(timestamp, val_accuracy) of every epoch any trial reported (Ray's result.json lines)."""
    found = []
    for result_file in experiment.glob("trial_*/result.json"):
        for line in result_file.read_text().splitlines():
            row = json.loads(line)
            if row.get("val_accuracy") is not None:
                # Ray's timestamp is whole seconds: the epoch number orders a trial's reports within one.
                found.append((float(row["timestamp"]), int(row.get("training_iteration", 0)),
                              float(row["val_accuracy"])))
    return found


def one_run(work: Path, key: str, searcher: str, scheduler: str, args: argparse.Namespace) -> dict[str, Any]:
    flags = ["--use-dummy-data", "--searcher", searcher, "--scheduler", scheduler, "--max-trials", str(args.trials),
             "--max-epochs", str(args.epochs), "--grace-period", "1", "--seed", str(args.seed),
             "--output-dir", str(work / key), "--name", key, "--verbose", "0"]
    wall_s = run_cli(flags, work / f"{key}.log", env={"PYTHONPATH": str(REPO)})
    curve = anytime_from_reports(_reports(work / key / "tuning" / key))
    row = {"pairing": key, "final_best": round(curve[-1], 4), "epochs_used": len(curve), "wall_s": round(wall_s, 1),
           "curve": [round(v, 4) for v in curve]}
    print(json.dumps({k: v for k, v in row.items() if k != "curve"}), flush=True)
    return row


def summarise(rows: list[dict[str, Any]], surrogate: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Epochs to random + FIFO's final best per pairing, and whether the surrogate ranks them the same way."""
    from scipy.stats import spearmanr

    by_key = {r["pairing"]: r for r in rows}
    reference = by_key.get("random_fifo")
    figures: dict[str, Any] = {"size": {"trials": args.trials, "max_epochs": args.epochs, "seed": args.seed,
                                        "grace_period": 1, "data": "default synthetic, trial split"},
                               "pairings": {}}
    for key, row in by_key.items():
        entry = {k: v for k, v in row.items() if k != "pairing"}
        if reference:
            entry["epochs_to_random_best"] = epochs_to_reach(row["curve"], reference["final_best"])
        figures["pairings"][key] = entry
    if reference and len(by_key) >= 3:
        keys = sorted(by_key)
        never = 10 * max(r["epochs_used"] for r in rows)  # "never reached" ranks last, on both sides
        real = [figures["pairings"][k]["epochs_to_random_best"] or never for k in keys]
        simulated = [(surrogate.get(k) or {}).get("epochs_to_random_best_median") or never for k in keys]
        finals = spearmanr([by_key[k]["final_best"] for k in keys],
                           [(surrogate.get(k) or {}).get("final_best_median") or 0 for k in keys]).statistic
        figures["rank_agreement"] = {"pairings": keys,
                                     "spearman_epochs_to_random_best": round(float(spearmanr(real, simulated).statistic), 3),
                                     "spearman_final_best": round(float(finals), 3)}
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=20, help="--max-epochs of each run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", help="keep the runs here and skip those already in DIR/runs.jsonl (resumable)")
    add_common_args(parser)
    args = parser.parse_args()
    if args.quick:
        args.trials, args.epochs = 3, 2
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench_search_real_"))
    work.mkdir(parents=True, exist_ok=True)
    done_file = work / "runs.jsonl"
    size = [args.trials, args.epochs, args.seed]
    rows = [r for r in read_jsonl_rows(done_file) if r.get("size") == size]
    results = Path(args.out) / "results.json"
    surrogate = json.loads(results.read_text()).get("search_efficiency", {}).get("pairings", {}) if results.is_file() else {}
    for key, searcher, scheduler in PAIRINGS[:2] if args.quick else PAIRINGS:
        if any(r["pairing"] == key for r in rows):
            continue
        row = {**one_run(work, key, searcher, scheduler, args), "size": size}
        rows.append(row)
        append_jsonl_row(done_file, row)
        merge_result(args.out, "search_real_check", summarise(rows, surrogate, args))  # after every run: partial ones count
    figures = summarise(rows, surrogate, args)
    path = merge_result(args.out, "search_real_check", figures)
    print(json.dumps({k: v for k, v in figures.items() if k != "pairings"}, indent=2))
    print(f"wrote search_real_check into {path}; runs kept in {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
