"""Memory: peak resident memory per trial worker and in total with 1, 2 and 4 concurrent trials on ~500 MB of data.

The tuning data (the synthetic EEG windows, repeated with small noise up to ``--mb``) goes
into Ray's object store once through ``tune.with_parameters``, as the Ray backend passes it.
Each trial runs :func:`trainables.cnn_lstm.train_cnn_lstm` (a tiny model, one epoch) with
``2 / N`` CPUs, while a thread in its worker samples ``/proc/self/status``: ``VmHWM`` (peak
resident, shared pages of the object store included), and the peak of ``RssAnon`` (the
worker's private memory: what a copy of the dataset in the worker would add to). The
arrays a trial receives are read-only views of the object store when they are not copied.

Usage: python benchmarks/bench_memory.py [--quick] [--mb 500] [--out benchmarks/]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_common_args, local_ray, merge_result, peak_rss_mb  # noqa: E402

__all__ = ["memory_trial", "main"]


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory_trial(config: dict[str, Any], data: Any, cpus: float) -> None:
    """The real trainable with a sampler of this worker's memory; both peaks ride on its last report."""
    import trainables.cnn_lstm as module
    from ray import tune

    peak_private = [_status_mb("RssAnon")]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak_private[0] = max(peak_private[0], _status_mb("RssAnon"))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    zero_copy = not data.X_train.flags.writeable  # a view of the object store, not a private copy

    def report(metrics: dict[str, Any], checkpoint: Any = None) -> None:
        done.set()
        sampler.join()
        tune.report({**metrics, "peak_rss_mb": _status_mb("VmHWM"), "peak_private_mb": peak_private[0],
                     "shared_mb_at_end": _status_mb("RssShmem"), "zero_copy": zero_copy}, checkpoint=checkpoint)

    module.tune = types.SimpleNamespace(report=report, Checkpoint=tune.Checkpoint, get_checkpoint=tune.get_checkpoint)
    try:
        module.train_cnn_lstm(config, data, max_epochs=1, cpus_per_trial=cpus, checkpoint=False)
    finally:
        module.tune = tune


def _big_data(mb: float) -> Any:
    """The smoke dataset's prepared arrays, repeated with noise until the training windows reach ``mb`` MB."""
    import dataclasses

    import numpy as np

    from eeg.splits import make_split
    from eeg.synthetic import make_dummy_dataset
    from eeg.training import prepare_data

    dataset = make_dummy_dataset(smoke_test=True)
    data = prepare_data(dataset, make_split(dataset, "trial")).without_test()
    repeat = max(1, int(mb * 2**20 / data.X_train.nbytes))
    rng = np.random.default_rng(0)
    X = np.concatenate([data.X_train + rng.normal(0, 0.1, data.X_train.shape).astype(np.float32)
                        for _ in range(repeat)])
    return dataclasses.replace(data, X_train=X, y_train=np.tile(data.y_train, repeat))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    parser.add_argument("--mb", type=float, default=500)
    args = parser.parse_args()
    if args.quick:
        args.mb = 40
    from ray import tune

    data = _big_data(args.mb)
    dataset_mb = (data.X_train.nbytes + data.X_val.nbytes) / 2**20
    config = {"n_conv_blocks": 1, "cnn_filters_0": 16, "use_lstm": False, "dense_units_0": 32, "batch_size": 256}
    rows = {}
    with local_ray(2, object_store_memory=int(max(4 * dataset_mb, 300) * 2**20)):
        for concurrent in (1, 2, 4):
            cpus = 2 / concurrent
            trainable = tune.with_resources(tune.with_parameters(memory_trial, data=data, cpus=cpus), {"cpu": cpus})
            with tempfile.TemporaryDirectory() as storage:
                started = time.perf_counter()
                grid = tune.Tuner(trainable, param_space=config,
                                  tune_config=tune.TuneConfig(num_samples=concurrent, reuse_actors=False),
                                  run_config=tune.RunConfig(storage_path=storage, name="memory", verbose=0)).fit()
                wall = time.perf_counter() - started
            frame = grid.get_dataframe()
            rows[str(concurrent)] = {
                "cpus_per_trial": cpus,
                "peak_rss_mb_per_trial": [round(float(v), 1) for v in frame["peak_rss_mb"]],
                "peak_private_mb_per_trial": [round(float(v), 1) for v in frame["peak_private_mb"]],
                "total_private_mb": round(float(frame["peak_private_mb"].sum()), 1),
                "total_mb_dataset_once": round(float(frame["peak_private_mb"].sum()) + dataset_mb, 1),
                "zero_copy_in_every_trial": bool(frame["zero_copy"].all()),
                "wall_s": round(wall, 1),
            }
            print(f"{concurrent} trial(s): {rows[str(concurrent)]}", flush=True)
    figures = {"dataset_mb": round(dataset_mb, 1), "by_concurrent_trials": rows,
               "driver_peak_rss_mb": round(peak_rss_mb(), 1),
               "model": config | {"epochs": 1}, "note": "total = sum of the trials' private peaks + the dataset once"}
    merge_result(args.out, "memory", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
