"""Memory: peak resident memory per trial worker and in total with 1, 2 and 4 concurrent trials on ~500 MB of data.

The tuning data (the synthetic EEG windows, repeated with small noise up to ``--mb``) goes
into Ray's object store once through ``tune.with_parameters``, as the Ray backend passes it.
Each trial runs :func:`trainables.cnn_lstm.train_cnn_lstm` (a tiny model, one epoch) with
``2 / N`` CPUs, while a thread in its worker samples ``/proc/self/status``: ``VmHWM`` (peak
resident, shared pages of the object store included), and the peak of ``RssAnon`` (the
worker's private memory: what a copy of the dataset in the worker would add to). The
arrays a trial receives are read-only views of the object store when they are not copied.
Then the feeding's speed, side by side in this process on the same data and model: ``fit`` on
the arrays (the way before ``eeg/batches.py``) against ``eeg.training.train_model``'s batches.

Usage: python benchmarks/bench_memory.py [--quick] [--mb 500] [--out benchmarks/]
"""

from __future__ import annotations

import argparse
import dataclasses
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


def _feeding_throughput(data: Any, config: dict[str, Any], *, fits: int, epochs: int) -> dict[str, Any]:
    """Seconds per fit and per epoch: arrays into ``fit`` (old) against index batches (new), alternating."""
    import statistics

    from eeg.training import configure_threads, import_tensorflow_quietly

    import_tensorflow_quietly()
    configure_threads(2)
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
            self.seconds.append(round(time.perf_counter() - self.started, 3))

    def old(timer: EpochTimes) -> None:
        keras.utils.set_random_seed(0)
        model = build_model(hparams, data.input_shape, data.n_classes)
        model.fit(data.X_train, data.y_train, validation_data=(data.X_val, data.y_val), epochs=epochs,
                  batch_size=hparams["batch_size"], shuffle=True, callbacks=[timer], verbose=0)

    def new(timer: EpochTimes) -> None:
        train_model(hparams, data, epochs=epochs, callbacks=[timer])

    fit_s: dict[str, list[float]] = {"old": [], "new": []}
    epoch_s: dict[str, list[list[float]]] = {"old": [], "new": []}
    for _ in range(fits):
        for way, fit in (("old", old), ("new", new)):
            keras.backend.clear_session()
            timer = EpochTimes()
            started = time.perf_counter()
            fit(timer)
            fit_s[way].append(round(time.perf_counter() - started, 3))
            epoch_s[way].append(timer.seconds)
    whole = {way: statistics.median(v) for way, v in fit_s.items()}
    later = {way: statistics.median(s for seconds in v for s in seconds[1:]) for way, v in epoch_s.items()}
    return {"fits_per_way": fits, "epochs_per_fit": epochs, "cpus": 2.0, "fit_s": fit_s, "epoch_s": epoch_s,
            "old_arrays_into_fit": {"fit_s": round(whole["old"], 3), "later_epoch_s": round(later["old"], 3)},
            "new_batches": {"fit_s": round(whole["new"], 3), "later_epoch_s": round(later["new"], 3)},
            "throughput_ratio_new_over_old": round(whole["old"] / whole["new"], 3),
            "later_epoch_ratio_new_over_old": round(later["old"] / later["new"], 3),
            "note": "ratios are old seconds / new seconds (> 1: the new feeding is faster); medians over the fits"}


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
    fits, epochs = (1, 2) if args.quick else (3, 4)
    # The tiny model of the trials below (4 ms a batch: the feeding's worst case) on all the data, and the
    # default CNN+LSTM, batch 32 (what a trial trains unless told otherwise), on its first 5,120 samples.
    # Before Ray starts: measured in this driver after the Ray part, each batch-fed fit of the default model
    # took 4 s longer outside its epochs, which neither a fresh process nor a Ray trial showed.
    throughput = _feeding_throughput(data, config, fits=fits, epochs=epochs)
    head = dataclasses.replace(data, X_train=data.X_train[:20 * 256], y_train=data.y_train[:20 * 256])
    throughput["default_model"] = _feeding_throughput(head, {}, fits=fits, epochs=epochs)
    for label, figures in (("tiny model", throughput), ("default model", throughput["default_model"])):
        print(f"feeding, {label}: {figures['old_arrays_into_fit']} (arrays into fit) vs "
              f"{figures['new_batches']} (batches)", flush=True)
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
    extra = (rows["4"]["total_mb_dataset_once"] - rows["1"]["total_mb_dataset_once"]) / 3
    figures = {"dataset_mb": round(dataset_mb, 1), "by_concurrent_trials": rows,
               "extra_trial_mb": round(extra, 1), "driver_peak_rss_mb": round(peak_rss_mb(), 1),
               "model": config | {"epochs": 1}, "throughput": throughput,
               "throughput_ratio_new_over_old": throughput["throughput_ratio_new_over_old"],
               "goal": "extra_trial_mb <= 500 at 500 MiB of data; throughput_ratio_new_over_old >= 0.95",
               "note": "total = sum of the trials' private peaks + the dataset once; "
                       "extra_trial_mb = (total at 4 - total at 1) / 3 of this run"}
    merge_result(args.out, "memory", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
