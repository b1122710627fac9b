"""Training throughput of the trainable against a bare ``model.fit``, with checkpoints every epoch, every N, none.

Each Ray trial first times a bare ``model.fit`` of the default model on the tuning data,
then runs :func:`trainables.cnn_lstm.train_cnn_lstm` on the same data in the same process,
so both halves share the process, the thread settings and the machine's load. Epoch 1 is
left out of both (it traces the graph); the trainable's epochs are timed between its
reports, so its figure holds the per-epoch ``fit`` call, the ``.keras`` save and Ray's
checkpoint upload and the report's round trip to the driver, which is what checkpointing
costs. One 1-CPU trial runs at a time on a 2-CPU Ray with the project's
``CheckpointConfig(num_to_keep=2)``, and the settings alternate over ``--repeats``, so load
from outside (this machine is shared) hits each setting alike; the median over repeats is kept.
``trainable_vs_keras_fit`` is the accounted ratio (a bare epoch against a bare epoch plus the
trainable's save + report, timed in the same trial), which outside load cannot swing the way
it swings the direct ratio of the two halves' throughputs (kept beside it).

Usage: python benchmarks/bench_throughput.py [--quick] [--epochs 12] [--every 2] [--repeats 2] [--out benchmarks/]
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_common_args, local_ray, merge_result, spread  # noqa: E402

__all__ = ["timed_trial", "main"]


def timed_trial(config: dict[str, Any], data: Any, epochs: int, options: dict[str, Any]) -> None:
    """Bare fit, then the trainable, in one process; reports both throughputs on the trainable's last report."""
    import keras

    import trainables.cnn_lstm as module
    from eeg.model import build_model, resolve_hparams
    from eeg.training import configure_threads, import_tensorflow_quietly
    from ray import tune

    import_tensorflow_quietly()
    configure_threads(1)
    hparams = resolve_hparams(config)
    ends: list[float] = []

    class _Ends(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            ends.append(time.perf_counter())

    keras.utils.set_random_seed(0)
    model = build_model(hparams, data.input_shape, data.n_classes)
    model.fit(data.X_train, data.y_train, validation_data=(data.X_val, data.y_val), epochs=epochs,
              batch_size=hparams["batch_size"], shuffle=True, verbose=0, callbacks=[_Ends()])
    samples = len(data.X_train) * (epochs - 1)
    bare = samples / (ends[-1] - ends[0])
    reports: list[float] = []  # when each report returned
    saving: list[float] = []  # seconds per epoch (after the first) in save + report, or in the report alone
    inside_save = [False]
    save_and_report = module._report_with_checkpoint

    def report(metrics: dict[str, Any], checkpoint: Any = None) -> None:
        started = time.perf_counter()
        if len(reports) == epochs - 1:  # the last epoch: attach the figures to its report
            metrics = {**metrics, "bare_samples_per_s": bare,
                       "trainable_samples_per_s": samples / (started - reports[0]),
                       "bare_epoch_s": (ends[-1] - ends[0]) / (epochs - 1),
                       "report_s_per_epoch": sum(saving) / max(1, len(saving))}
        tune.report(metrics, checkpoint=checkpoint)
        reports.append(time.perf_counter())
        if len(reports) > 1 and not inside_save[0]:
            saving.append(reports[-1] - started)

    def timed_save_and_report(metrics: dict[str, Any], model: Any, epoch: int) -> None:
        started = time.perf_counter()
        inside_save[0] = True
        try:
            save_and_report(metrics, model, epoch)
        finally:
            inside_save[0] = False
        if epoch > 1:
            saving.append(time.perf_counter() - started)

    # The trainable's own calls, with the report timed; everything else is the real module.
    module.tune = types.SimpleNamespace(report=report, Checkpoint=tune.Checkpoint, get_checkpoint=tune.get_checkpoint)
    module._report_with_checkpoint = timed_save_and_report
    try:
        module.train_cnn_lstm(config, data, max_epochs=epochs, **options)
    finally:
        module.tune, module._report_with_checkpoint = tune, save_and_report


def _measure(options: dict[str, Any], data: Any, epochs: int) -> dict[str, float]:
    """One trial: trainable / bare throughput, and the seconds per epoch of a bare epoch and of the report."""
    from ray import tune

    trainable = tune.with_resources(
        tune.with_parameters(timed_trial, data=data, epochs=epochs, options=options), {"cpu": 1})
    with tempfile.TemporaryDirectory() as storage:
        grid = tune.Tuner(
            trainable,
            param_space={"learning_rate": 1e-3},
            tune_config=tune.TuneConfig(num_samples=1, metric="val_accuracy", mode="max"),
            run_config=tune.RunConfig(storage_path=storage, name="throughput", verbose=0,
                                      checkpoint_config=tune.CheckpointConfig(
                                          num_to_keep=2, checkpoint_score_attribute="val_accuracy",
                                          checkpoint_score_order="max")),
        ).fit()
    row = grid[0].metrics
    return {"ratio": float(row["trainable_samples_per_s"] / row["bare_samples_per_s"]),
            "bare_samples_per_s": float(row["bare_samples_per_s"]), "bare_epoch_s": float(row["bare_epoch_s"]),
            "report_s_per_epoch": float(row["report_s_per_epoch"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    # The default --max-epochs: every-N then pays its last-epoch checkpoint as often as a real trial does.
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--every", type=int, help="N of the every-N-epochs setting (default: the checkpoint_every default)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.repeats = 3, 1
    from engines.experiment.settings import DEFAULTS

    default_every = DEFAULTS.get("checkpoint_every", 1)
    args.every = args.every or (default_every if isinstance(default_every, int) and default_every > 1 else 10)

    from eeg.splits import make_split
    from eeg.synthetic import make_dummy_dataset
    from eeg.training import prepare_data
    from trainables.cnn_lstm import train_cnn_lstm

    dataset = make_dummy_dataset(smoke_test=args.quick)
    data = prepare_data(dataset, make_split(dataset, "trial")).without_test()
    settings = {"every_epoch": {"checkpoint": True, "checkpoint_every": 1}, "none": {"checkpoint": False}}
    has_every = "checkpoint_every" in inspect.signature(train_cnn_lstm).parameters
    if has_every:
        settings[f"every_{args.every}_epochs"] = {"checkpoint": True, "checkpoint_every": args.every}
        settings["auto"] = {"checkpoint": True, "checkpoint_every": "auto"}
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in settings}
    with local_ray(2):
        for _ in range(args.repeats):
            for key, options in settings.items():  # alternated, so drift in load hits every setting
                runs[key].append(_measure(options, data, args.epochs))
                print(f"{key}: {runs[key][-1]}", flush=True)
    default_key = {1: "every_epoch", "auto": "auto"}.get(default_every, f"every_{default_every}_epochs")
    def field(key: str, name: str) -> dict[str, Any]:
        return spread([run[name] for run in runs[key]])

    # On a shared machine the two halves of a trial run under different outside load, so the direct ratio
    # swings both ways (1.33 with no checkpoints in one run). The accounted ratio divides a bare epoch by a
    # bare epoch plus the time the trainable spends outside fit (its save + report), both measured in the
    # same trial; with one fit per trial that is the whole of the trainable's extra work.
    accounted = {k: spread([r["bare_epoch_s"] / (r["bare_epoch_s"] + r["report_s_per_epoch"]) for r in v])
                 for k, v in runs.items()}
    figures = {
        "trainable_vs_keras_fit": accounted[default_key]["median"],
        "default_checkpointing": default_key,
        "goal": 0.95,
        "accounted_ratio_by_checkpointing": accounted,
        "direct_ratio_by_checkpointing": {k: field(k, "ratio") for k in runs},
        "report_s_per_epoch_by_checkpointing": {k: field(k, "report_s_per_epoch") for k in runs},
        "bare_epoch_s": spread([r["bare_epoch_s"] for v in runs.values() for r in v]),
        "bare_fit_samples_per_s": spread([r["bare_samples_per_s"] for v in runs.values() for r in v]),
        "setup": {"epochs": args.epochs, "timed_epochs": args.epochs - 1, "trials_at_once": 1, "cpus_per_trial": 1, "cpus": 2,
                  "model": "default hparams", "data": "smoke synthetic" if args.quick else "synthetic (720 train)",
                  "repeats": args.repeats},
    }
    merge_result(args.out, "throughput", figures)
    print(f"throughput.trainable_vs_keras_fit = {figures['trainable_vs_keras_fit']} ({default_key})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
