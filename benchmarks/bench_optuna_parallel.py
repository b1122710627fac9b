"""Parallel native Optuna: 1 vs 2 worker processes on one study, for the same fixed time.

Each worker is the user's command, ``tune_cluster.py --method optuna --name SHARED``,
started N times at once (README, "Parallel Optuna workers"); they share the SQLite study.
After ``--seconds`` each worker stops starting trials (``--time-budget``); the figures count
only the trials that finished inside the window, read back from the study.

Usage: python benchmarks/bench_optuna_parallel.py [--quick] [--seconds 120] [--out benchmarks/]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, add_common_args, dataset_npz, merge_result  # noqa: E402

__all__ = ["run_workers", "main"]


def run_workers(workers: int, seconds: float, data_file: Path, work: Path, max_epochs: int) -> dict[str, Any]:
    """Start ``workers`` copies of the same command at once; read the shared study after they end."""
    import optuna

    name = f"parallel-{workers}"
    flags = ["--method", "optuna", "--name", name, "--data", str(data_file), "--dataset", "table",
             "--max-trials", "1000", "--max-epochs", str(max_epochs), "--grace-period", "1",
             "--time-budget", str(int(seconds)), "--output-dir", str(work / "out"), "--verbose", "0"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, str(REPO / "tune_cluster.py"), *flags], cwd=REPO, env=env,
                              stdout=open(work / f"{name}-{i}.log", "w"), stderr=subprocess.STDOUT)
             for i in range(workers)]
    codes = [p.wait(timeout=seconds * 4 + 600) for p in procs]
    wall = time.perf_counter() - started
    if any(codes):
        raise RuntimeError(f"a worker exited {codes}; see {work}/{name}-*.log")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=f"emotion_recognition_optuna:{name}",
                              storage=f"sqlite:///{work / 'out' / 'tuning' / 'optuna.db'}")
    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_start is not None]
    start = min(t.datetime_start for t in trials)
    window_end = start + _dt.timedelta(seconds=seconds)
    inside = [t for t in trials if t.datetime_complete is not None and t.datetime_complete <= window_end
              and t.state.name in ("COMPLETE", "PRUNED")]
    best = max((max(t.intermediate_values.values()) for t in inside if t.intermediate_values), default=None)
    epochs = sum(len(t.intermediate_values) for t in inside)
    return {"workers": workers, "window_s": seconds, "trials_in_window": len(inside),
            "trials_per_minute": round(len(inside) / (seconds / 60), 2), "epochs_in_window": epochs,
            "epochs_per_minute": round(epochs / (seconds / 60), 2),
            "best_val_accuracy_in_window": round(best, 4) if best is not None else None,
            "commands_wall_s": round(wall, 1), "worker_pids_distinct": workers}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--max-epochs", type=int, default=4)
    parser.add_argument("--work", help="folder for the studies (default: a temporary one)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.max_epochs = 20, 2  # long enough for both workers to finish trials: CI checks it runs
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-optuna-"))
    data_file = dataset_npz(work, smoke=args.quick)
    rows = {str(n): run_workers(n, args.seconds, data_file, work, args.max_epochs) for n in (1, 2)}
    for row in rows.values():
        print(row, flush=True)
    one, two = rows["1"], rows["2"]
    figures = {
        "by_workers": rows,
        "trials_per_minute_ratio_2_vs_1": round(two["trials_per_minute"] / one["trials_per_minute"], 2)
        if one["trials_per_minute"] else None,
        "epochs_per_minute_ratio_2_vs_1": round(two["epochs_per_minute"] / one["epochs_per_minute"], 2)
        if one["epochs_per_minute"] else None,
        "setup": {"max_epochs": args.max_epochs, "pruner": "successive halving (--scheduler asha)", "cpus": 2,
                  "storage": "SQLite", "data": "synthetic EEG table"},
    }
    merge_result(args.out, "optuna_parallel", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
