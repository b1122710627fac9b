"""A stand-in for ``tune_cluster.py tune`` that the cluster tests submit as a Ray job.

It takes the same flags the real CLI takes on a cluster and writes the same two files
(``<output-dir>/tuning/<name>/trials.csv`` with a ``node_id`` column and
``<output-dir>/best_hyperparameters.json``), but its "trials" are one-second Ray Tune
function trials, so the cluster mechanics (job API, token, spreading across nodes,
storage) are checked in seconds without TensorFlow. It also records what the job saw:
the interpreter, and whether the working directory upload left out .venv and the token.
"""

from __future__ import annotations

import argparse
import atexit
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main"]


def _trial(config: dict) -> None:
    import ray
    from ray import tune

    time.sleep(1.5)  # long enough that two trials overlap and need two 1-CPU nodes
    node_id = ray.get_runtime_context().get_node_id()
    tune.report({"val_accuracy": 0.5 + 0.01 * config["x"], "node_id": node_id})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stand_in_tune.py")
    parser.add_argument("command", choices=["tune"])
    parser.add_argument("--address", default="auto")
    parser.add_argument("--storage", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--max-trials", type=int, default=4)
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    args, _unused = parser.parse_known_args(argv)  # --use-dummy-data, --smoke-test, ...

    # What the job was started with, read now: on nodes sharing Ray's temp folder, a worker's runtime-env agent may
    # remove the job's working directory (this folder) while the job runs, so it then runs from its own, as the
    # real CLI does (issue 19).
    seen = {"python": sys.executable, "cwd": os.getcwd(), "venv_uploaded": Path(".venv").exists(),
            "token_uploaded": Path("cluster/.secrets").exists()}
    folder = tempfile.mkdtemp(prefix="stand-in-driver-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.chdir(folder)

    import ray
    from ray import tune

    ray.init(address=args.address)
    trainable = tune.with_resources(_trial, {"cpu": args.cpus_per_trial})
    tuner = tune.Tuner(
        trainable,
        param_space={"x": tune.grid_search(list(range(args.max_trials)))},
        # No actor reuse: a finished trial's cached actor would take the next pending trial even while that
        # trial's own actor is still starting on the other node, so on a loaded machine every trial ran on one.
        tune_config=tune.TuneConfig(metric="val_accuracy", mode="max", reuse_actors=False),
        run_config=tune.RunConfig(storage_path=args.storage, name=args.name, verbose=0),
    )
    results = tuner.fit()

    out = Path(args.output_dir)
    table = out / "tuning" / args.name / "trials.csv"
    table.parent.mkdir(parents=True, exist_ok=True)
    with table.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["trial_id", "x", "val_accuracy", "node_id"])
        for result in results:
            writer.writerow([result.metrics["trial_id"], result.config["x"],
                             result.metrics["val_accuracy"], result.metrics["node_id"]])
    best = results.get_best_result()
    (out / "best_hyperparameters.json").write_text(json.dumps({
        "hyperparameters": best.config,
        "metadata": {"best_score": best.metrics["val_accuracy"], "metric": "val_accuracy", "method": "stand-in"},
    }))
    (out / "job_environment.json").write_text(json.dumps({
        **seen,
        "auth_mode": os.environ.get("RAY_AUTH_MODE"),
        "head_node_id": ray.get_runtime_context().get_node_id(),
    }))
    print(f"stand-in tune: {len(results)} trials, table {table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
