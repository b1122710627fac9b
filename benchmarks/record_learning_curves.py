"""Record real learning curves once: N random configurations of the default space, each trained for the full budget.

The surrogate benchmark (:mod:`benchmarks.bench_search_efficiency`) replays these curves, so every searcher and
scheduler can be compared at the scale of a night for almost no training cost (HPOBench / YAHPO Gym do the same).

* Data: the default synthetic EEG (``--use-dummy-data``), ``--split trial``, split seed 0; the test split is never
  read. The arrays are exactly what a tuning trial gets (:func:`engines.experiment.data.prepare_experiment_data`).
* Configurations: configuration ``i`` is drawn by Optuna's ``RandomSampler(seed=BASE_SEED + i)`` through the
  project's own translator (:func:`search_spaces.translate_optuna.suggest_optuna`), so conditional parameters are
  drawn only when active and configuration ``i`` is the same on every machine and in every resumed run.
* Training: :func:`eeg.training.train_model`, the call the Ray trainable makes, in one ``fit`` over all epochs, with
  weight seed 0 as a tuning trial has, on ``--threads`` TensorFlow threads (1: what ``--cpus-per-trial 1`` gives).
  A diverged configuration (NaN loss) keeps its epochs so far and is marked ``diverged``.
* Output: one Parquet file, one row per configuration and epoch (``config_id``, ``epoch``, ``val_accuracy``,
  ``epoch_seconds``, one column per hyperparameter, NaN where inactive), and a JSON sidecar with the command.

Resumable: each finished configuration is appended by rewriting the file atomically (tmp + rename); a rerun reads
the file and trains only the configurations that are missing. Commit the file as it grows.

Usage: python benchmarks/record_learning_curves.py [--configs 200] [--epochs 30] [--out benchmarks/data]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

__all__ = ["BASE_SEED", "CURVES_FILE", "draw_config", "main"]

BASE_SEED = 20_000
CURVES_FILE = "learning_curves.parquet"


def draw_config(config_id: int) -> dict[str, Any]:
    """Configuration ``config_id`` of the default space, drawn uniformly at random (reproducible by id)."""
    import optuna

    from search_spaces import get_space
    from search_spaces.translate_optuna import suggest_optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=BASE_SEED + config_id))
    return suggest_optuna(study.ask(), get_space("cnn_lstm"))


def _train_one(config_id: int, prepared: Any, epochs: int) -> list[dict[str, Any]]:
    """Train configuration ``config_id`` for ``epochs`` epochs; one row per epoch it ran."""
    import keras

    from eeg.model import resolve_hparams
    from eeg.training import train_model

    config = draw_config(config_id)
    rows: list[dict[str, Any]] = []

    class _Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch_index: int, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch_index: int, logs: Any = None) -> None:
            logs = logs or {}
            loss = float(logs.get("loss", math.nan))
            rows.append({"config_id": config_id, "epoch": epoch_index + 1,
                         "val_accuracy": float(logs["val_accuracy"]), "val_loss": float(logs["val_loss"]),
                         "accuracy": float(logs["accuracy"]), "loss": loss,
                         "epoch_seconds": time.perf_counter() - self.started, "diverged": not math.isfinite(loss)})
            if not math.isfinite(loss):
                self.model.stop_training = True  # as the trainable does: a NaN loss ends the trial

    keras.backend.clear_session()
    train_model(resolve_hparams(config), prepared, epochs=epochs, seed=0, callbacks=[_Record()])
    return [{**row, **{f"hp_{k}": v for k, v in config.items()}} for row in rows]


def _write_atomically(frame: Any, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", type=int, default=200, help="how many configurations (ids 0..N-1)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs each configuration trains")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads (1 = one trial's CPU)")
    parser.add_argument("--out", default=str(HERE / "data"), help="folder for learning_curves.parquet")
    parser.add_argument("--shard", default="0/1", help="i/n: this process trains the ids with id %% n == i; "
                        "several processes may share --out (each appends under a file lock)")
    parser.add_argument("--smoke-test", action="store_true", help="tiny synthetic data (tests only)")
    args = parser.parse_args(argv)

    import pandas as pd

    from eeg.training import configure_threads, import_tensorflow_quietly
    from engines.experiment.data import prepare_experiment_data
    from engines.experiment.settings import load_settings

    import_tensorflow_quietly()
    configure_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / CURVES_FILE
    frame = pd.read_parquet(path) if path.is_file() else pd.DataFrame()
    if not frame.empty:
        per_config = frame.groupby("config_id").agg(epochs=("epoch", "max"), diverged=("diverged", "any"))
        lengths = per_config.loc[~per_config["diverged"], "epochs"]
        if len(lengths) and (lengths != args.epochs).any():
            print(f"{path}: recorded with --epochs {int(lengths.max())}, asked for {args.epochs}; use another --out",
                  file=sys.stderr)
            return 2
    done = set(frame["config_id"].unique().tolist()) if not frame.empty else set()
    settings = load_settings({"use_dummy_data": True, "split": "trial", "smoke_test": args.smoke_test})
    prepared = prepare_experiment_data(settings).prepared.without_test()
    command = ["python", "benchmarks/record_learning_curves.py", f"--configs {args.configs}", f"--epochs {args.epochs}",
               f"--threads {args.threads}", "[--shard i/n, one process per shard]"]
    (out / "learning_curves.json").write_text(json.dumps({  # the same for every shard
        "command": " ".join(command), "data": "synthetic EEG (--use-dummy-data), split=trial, split_seed 0",
        "train_shape": list(prepared.X_train.shape), "val_shape": list(prepared.X_val.shape),
        "sampler": f"optuna RandomSampler(seed={BASE_SEED} + config_id) over search_spaces.cnn_lstm",
        "threads": args.threads, "epochs": args.epochs, "weight_seed": 0}, indent=2) + "\n")
    shard, shards = (int(part) for part in args.shard.split("/"))
    for config_id in range(shard, args.configs, shards):
        if config_id in done:
            continue
        started = time.perf_counter()
        rows = _train_one(config_id, prepared, args.epochs)
        with open(out / "learning_curves.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another shard may be appending: read, add, replace under the lock
            frame = pd.read_parquet(path) if path.is_file() else pd.DataFrame()
            if frame.empty or config_id not in set(frame["config_id"]):
                frame = pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)
                _write_atomically(frame, path)
        best = max(r["val_accuracy"] for r in rows)
        print(f"config {config_id}: {len(rows)} epochs, best val_accuracy {best:.3f}, "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
