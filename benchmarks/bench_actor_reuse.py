"""Trial start-up cost with and without Ray actor reuse, measured side by side in one run.

Each trial trains one epoch of a small model on the smoke dataset, so start-up (the
TensorFlow import, building the model, fetching the data from the object store) is a
large share of a trial, as it is for the many short trials ASHA stops early.

The figures go under the ``overhead`` key of results.json: start-up seconds per trial of
the real model with and without actor reuse.

Usage: python benchmarks/bench_actor_reuse.py [--quick] [--trials 8] [--repeats 1] [--out benchmarks/]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_common_args, merge_result  # noqa: E402

__all__ = ["measure"]


def measure(reuse_actors: bool, trials: int, data) -> dict:
    from ray import tune

    from trainables.cnn_lstm import train_cnn_lstm

    trainable = tune.with_resources(tune.with_parameters(train_cnn_lstm, data=data, max_epochs=1), {"cpu": 1})
    with tempfile.TemporaryDirectory() as storage:
        started = time.perf_counter()
        grid = tune.Tuner(
            trainable,
            param_space={"learning_rate": tune.loguniform(1e-4, 1e-2), "n_conv_blocks": 1, "use_lstm": False},
            tune_config=tune.TuneConfig(num_samples=trials, reuse_actors=reuse_actors, metric="val_accuracy", mode="max"),
            run_config=tune.RunConfig(storage_path=storage, name="bench", verbose=0),
        ).fit()
        wall = time.perf_counter() - started
    frame = grid.get_dataframe()
    return {
        "reuse_actors": reuse_actors,
        "trials": trials,
        "wall_s": round(wall, 2),
        "mean_setup_s": round(statistics.fmean(frame["setup_s"]), 3),
        "mean_tf_import_s": round(statistics.fmean(frame["tf_import_s"]), 3),
        "mean_trial_total_s": round(statistics.fmean(frame["time_total_s"]), 3),
        "distinct_worker_processes": int(frame["pid"].nunique()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1)
    add_common_args(parser)
    args = parser.parse_args()
    if args.quick:
        args.trials, args.repeats = 4, 1

    import ray

    from eeg.splits import make_split
    from eeg.synthetic import make_dummy_dataset
    from eeg.training import prepare_data

    dataset = make_dummy_dataset(smoke_test=True)
    data = prepare_data(dataset, make_split(dataset, "trial")).without_test()
    from engines.backends.ray_tune_run import private_auth_token

    with private_auth_token():  # the token Ray makes: mode 600 in a 700 folder
        ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    rows = []
    try:
        for _ in range(args.repeats):
            for reuse in (False, True):  # alternate so drift in machine load hits both sides
                rows.append(measure(reuse, args.trials, data))
                print(json.dumps(rows[-1]), flush=True)
    finally:
        ray.shutdown()
    off = [r for r in rows if not r["reuse_actors"]]
    on = [r for r in rows if r["reuse_actors"]]
    ratio_wall = statistics.fmean(r["wall_s"] for r in off) / statistics.fmean(r["wall_s"] for r in on)
    ratio_setup = statistics.fmean(r["mean_setup_s"] for r in off) / statistics.fmean(r["mean_setup_s"] for r in on)
    summary = {
        "startup_s_per_trial_with_reuse": round(statistics.fmean(r["mean_setup_s"] for r in on), 3),
        "startup_s_per_trial_without_reuse": round(statistics.fmean(r["mean_setup_s"] for r in off), 3),
        "experiment_wall_s_with_reuse": round(statistics.fmean(r["wall_s"] for r in on), 2),
        "experiment_wall_s_without_reuse": round(statistics.fmean(r["wall_s"] for r in off), 2),
        "wall_ratio_off_over_on": round(ratio_wall, 2),
        "setup_ratio_off_over_on": round(ratio_setup, 2),
        "rows": rows,
        "setup": {"trials": args.trials, "repeats": args.repeats, "epochs": 1, "cpus": 2, "data": "smoke synthetic",
                  "model": "1 conv block, no LSTM"},
    }
    print(f"experiment wall time without/with actor reuse: {ratio_wall:.2f}x; per-trial start-up: {ratio_setup:.2f}x")
    merge_result(args.out, "overhead", summary)


if __name__ == "__main__":
    main()
