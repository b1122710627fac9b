"""Memory: peak resident memory per trial worker and in total with 1, 2 and 4 concurrent trials on ~500 MB of data.

The tuning data (the synthetic EEG windows, repeated with small noise up to ``--mb``) goes
into Ray's object store once through ``tune.with_parameters``, as the Ray backend passes it.
Each trial runs :func:`trainables.cnn_lstm.train_cnn_lstm` (a tiny model, one epoch) with
``2 / N`` CPUs, while a thread in its worker samples ``/proc/self/status``: ``VmHWM`` (peak
resident, shared pages of the object store included), and the peak of ``RssAnon`` (the
worker's private memory: what a copy of the dataset in the worker would add to). The
arrays a trial receives are read-only views of the object store when they are not copied.
``extra_trial_mb`` is what each concurrent trial adds to the total: (total at 4 trials - total at 1) / 3.

In the same run, one Ray task with both CPUs times the benchmark's model on the same data fed
both ways, alternating: the arrays straight into ``model.fit`` (as ``train_model`` did until
issue 19, a private copy of the dataset) and :func:`eeg.training.train_model`'s batches.

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

__all__ = ["memory_trial", "feeding_throughput", "main"]


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


def _fit_arrays(model: Any, data: Any, hparams: dict[str, Any], epochs: int, callbacks: list[Any]) -> None:
    """The feeding before issue 19, kept here only to compare: the arrays straight into ``fit`` (Keras copies them)."""
    model.fit(data.X_train, data.y_train, validation_data=(data.X_val, data.y_val), epochs=epochs,
              batch_size=hparams["batch_size"], callbacks=callbacks, shuffle=True, verbose=0)


def feeding_throughput(config: dict[str, Any], data: Any, cpus: float, rounds: int = 2, epochs: int = 3) -> dict:
    """Seconds of the same model and data, fed as whole arrays (old) and as batches (new), alternating.

    Each fit builds a new model with seed 0 and runs ``epochs`` epochs. ``fit_s`` is the whole ``fit``
    call: the old way copies the arrays into tensors before its first epoch starts, outside the epoch
    timer. ``later_epoch_s`` is the median of the epochs after the first (tracing, first page touches).
    The ratio ``throughput_ratio_new_over_old`` is old ``fit_s`` / new ``fit_s``, medians over ``rounds`` fits.
    """
    import statistics

    from eeg.training import configure_threads, import_tensorflow_quietly

    import_tensorflow_quietly()
    configure_threads(max(1, int(round(cpus))))
    import keras

    from eeg.model import build_model, resolve_hparams
    from eeg.training import train_model

    hparams = resolve_hparams(config)

    class EpochTimes(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.seconds.append(time.perf_counter() - self.started)

    epoch_s: dict[str, list[list[float]]] = {"old": [], "new": []}
    fit_s: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(rounds):
        for way in ("old", "new"):
            keras.backend.clear_session()
            keras.utils.set_random_seed(0)
            timer = EpochTimes()
            model = build_model(hparams, data.input_shape, data.n_classes)
            started = time.perf_counter()
            if way == "old":
                _fit_arrays(model, data, hparams, epochs, [timer])
            else:
                train_model(hparams, data, epochs=epochs, seed=0, model=model, callbacks=[timer])
            fit_s[way].append(round(time.perf_counter() - started, 3))
            epoch_s[way].append([round(t, 3) for t in timer.seconds])
    fit = {way: statistics.median(values) for way, values in fit_s.items()}
    later = {way: statistics.median(t for one in fits for t in one[1:]) for way, fits in epoch_s.items()}
    return {"epochs_per_fit": epochs, "fits_per_way": rounds, "cpus": cpus, "fit_s": fit_s, "epoch_s": epoch_s,
            "old_arrays_into_fit": {"fit_s": round(fit["old"], 3), "later_epoch_s": round(later["old"], 3)},
            "new_batches": {"fit_s": round(fit["new"], 3), "later_epoch_s": round(later["new"], 3)},
            "throughput_ratio_new_over_old": round(fit["old"] / fit["new"], 3),
            "later_epoch_ratio_new_over_old": round(later["old"] / later["new"], 3),
            "note": "ratios are old seconds / new seconds (> 1: the new feeding is faster); medians over the fits"}


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
        import ray

        data_ref = ray.put(data)
        throughput = ray.get(ray.remote(num_cpus=2)(feeding_throughput).remote(config, data_ref, 2.0))
        print(f"throughput: {throughput}", flush=True)
    extra_trial_mb = (rows["4"]["total_private_mb"] - rows["1"]["total_private_mb"]) / 3
    figures = {"dataset_mb": round(dataset_mb, 1), "by_concurrent_trials": rows,
               "extra_trial_mb": round(extra_trial_mb, 1), "throughput": throughput,
               "throughput_ratio_new_over_old": throughput["throughput_ratio_new_over_old"],
               "goal": "extra_trial_mb <= 500 at 500 MiB of data; throughput_ratio_new_over_old >= 0.95",
               "driver_peak_rss_mb": round(peak_rss_mb(), 1),
               "model": config | {"epochs": 1}, "note": "total = sum of the trials' private peaks + the dataset once"}
    merge_result(args.out, "memory", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
