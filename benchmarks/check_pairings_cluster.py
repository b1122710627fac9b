"""Every searcher x scheduler pairing through the CLI on a 2-node local Ray cluster, with and without --max-concurrent.

A head and one worker (1 CPU each) started with plain ``ray start`` on 127.0.0.1 with token authentication,
sharing Ray's temp folder as a user's nodes on one machine do (:class:`cluster.local_cluster.LocalRayCluster`).
Each pairing runs ``tune_cluster.py --address ... --use-dummy-data`` (the real trainable, the default data)
for ``--trials`` trials of ``--epochs`` epochs; a run passes when it exits 0 with every trial accounted for in ``summary.json`` (or the
searcher said it ran out of suggestions). The trials table says on how many nodes the trials ran.

Usage: python benchmarks/check_pairings_cluster.py [--trials 6] [--epochs 3] [--work DIR] [--out benchmarks/]
With ``--work DIR`` each finished run is appended to ``DIR/runs.jsonl`` and a rerun skips it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, add_common_args, append_jsonl_row, merge_result, read_jsonl_rows  # noqa: E402

__all__ = ["PAIRINGS", "main"]

# Every pairing the CLI accepts (check_pairing refuses the rest): the model-based searchers with both pausing
# schedulers, BOHB with its own, TPE with median stopping, random + FIFO and grid.
PAIRINGS = (("optuna", "asha"), ("optuna", "hyperband"), ("hyperopt", "asha"), ("hyperopt", "hyperband"),
            ("bayesopt", "asha"), ("bayesopt", "hyperband"), ("bohb", "bohb"), ("optuna", "median"),
            ("random", "fifo"), ("grid", "fifo"))


def one_run(address: str, env: dict[str, str], work: Path, searcher: str, scheduler: str,
            max_concurrent: int | None, args: argparse.Namespace) -> dict[str, Any]:
    import pyarrow.parquet as pq

    key = f"{searcher}_{scheduler}" + (f"_mc{max_concurrent}" if max_concurrent else "")
    output = work / key
    trials = _grid_size() if searcher == "grid" else args.trials  # a grid runs its whole grid once
    shutil.rmtree(output, ignore_errors=True)
    command = [sys.executable, str(REPO / "tune_cluster.py"), "--address", address, "--use-dummy-data",
               "--searcher", searcher, "--scheduler", scheduler, "--max-trials", str(trials),
               "--max-epochs", str(args.epochs), "--grace-period", "1", "--seed", "0", "--cpus-per-trial", "1",
               "--output-dir", str(output), "--name", key, "--verbose", "1"]
    if max_concurrent:
        command += ["--max-concurrent", str(max_concurrent)]
    started = time.perf_counter()
    with open(work / f"{key}.log", "w") as log:
        code = subprocess.call(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=args.timeout)
    wall_s = time.perf_counter() - started
    summary_file = output / "tuning" / key / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    table = output / "tuning" / key / "trials.parquet"
    frame = pq.read_table(table).to_pandas() if table.is_file() else None
    statuses = frame["status"].value_counts().to_dict() if frame is not None else {}
    row = {"run": key, "searcher": searcher, "scheduler": scheduler, "max_concurrent": max_concurrent,
           "exit_code": code, "wall_s": round(wall_s, 1), "trials": 0 if frame is None else len(frame),
           "statuses": statuses, "finished": bool(summary.get("finished")),
           "nodes_used": 0 if frame is None else int(frame["node_id"].nunique()),
           "ran_out_of_suggestions": "ran out of suggestions" in (work / f"{key}.log").read_text()}
    row["passed"] = bool(code == 0 and row["finished"] and (row["trials"] == trials or row["ran_out_of_suggestions"])
                         and not statuses.get("running"))
    print(json.dumps(row), flush=True)
    return row


def _grid_size() -> int:
    from eeg.model import DEFAULT_HPARAMS
    from engines.backends.ray_search import build_search, grid_size
    from search_spaces import get_space

    return grid_size(build_search("grid", get_space(), max_trials=10**6, seed=0, defaults=DEFAULT_HPARAMS).param_space)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900, help="seconds one run may take before it counts as hung")
    parser.add_argument("--work", help="keep the runs here and skip those already in DIR/runs.jsonl (resumable)")
    add_common_args(parser)
    args = parser.parse_args()
    from cluster.local_cluster import LocalRayCluster, write_token

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="check_pairings_"))
    work.mkdir(parents=True, exist_ok=True)
    done_file = work / "runs.jsonl"
    size = [args.trials, args.epochs]
    rows = [r for r in read_jsonl_rows(done_file) if r.get("size") == size]
    root = Path(tempfile.mkdtemp(prefix="pairings-cluster-"))
    token = root / "token"
    write_token(token)
    cluster = LocalRayCluster(root, token, shared_temp_dir=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still stops the nodes (finally below)
    try:
        cluster.start_head(num_cpus=1)
        cluster.add_worker(num_cpus=1)
        cluster.wait_for_nodes(2)
        env = {**os.environ, **cluster.env, "TF_CPP_MIN_LOG_LEVEL": "2"}
        for searcher, scheduler in PAIRINGS:
            for max_concurrent in (None, 2):
                key = f"{searcher}_{scheduler}" + (f"_mc{max_concurrent}" if max_concurrent else "")
                if any(r["run"] == key for r in rows):
                    continue
                row = {**one_run(cluster.address, env, work, searcher, scheduler, max_concurrent, args), "size": size}
                rows.append(row)
                append_jsonl_row(done_file, row)
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    figures = {"nodes": 2, "cpus_per_node": 1, "trials": args.trials, "max_epochs": args.epochs,
               "runs": {r["run"]: {k: v for k, v in r.items() if k not in ("run", "size")} for r in rows},
               "passed": sum(r["passed"] for r in rows), "of": len(rows)}
    path = merge_result(args.out, "pairings_cluster", figures)
    print(f"{figures['passed']} of {figures['of']} runs passed; wrote pairings_cluster into {path}; runs in {work}")
    return 0 if figures["passed"] == figures["of"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
