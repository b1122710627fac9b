"""The Ray Tune trainable for ``--cv K``: K fold models of one config in lockstep, one report per epoch.

Each report carries the fold mean as ``val_accuracy`` (what the searcher and ASHA/HyperBand
see), its standard deviation and every fold's score. A checkpoint holds all K models
(``fold_<i>.keras``) and the epoch, so pausing, retries and ``--resume`` restore the whole
trial; it is saved as :class:`~trainables.cnn_lstm.CheckpointPolicy` says, like the single-split
trainable.
"""

from __future__ import annotations

import json
import math
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ray import tune

from trainables.cnn_lstm import CHECKPOINT_STATE_FILE, CheckpointPolicy, _configure_tensorflow

__all__ = ["train_cnn_lstm_cv"]


def _restore(checkpoint: tune.Checkpoint, n_folds: int) -> tuple[list[Any], int]:
    import keras

    from eeg.cv_training import FOLD_MODEL_FILE

    with checkpoint.as_directory() as directory:
        models = [keras.models.load_model(Path(directory) / FOLD_MODEL_FILE.format(index=i)) for i in range(n_folds)]
        state = json.loads((Path(directory) / CHECKPOINT_STATE_FILE).read_text())
    return models, int(state["epoch"])


def _report_with_checkpoint(metrics: dict[str, Any], models: Sequence[Any], epoch: int) -> None:
    from eeg.cv_training import FOLD_MODEL_FILE

    with tempfile.TemporaryDirectory() as directory:
        for index, model in enumerate(models):
            model.save(Path(directory) / FOLD_MODEL_FILE.format(index=index))
        (Path(directory) / CHECKPOINT_STATE_FILE).write_text(json.dumps({"epoch": epoch, "folds": len(models)}))
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))


def train_cnn_lstm_cv(
    config: Mapping[str, Any],
    folds: Sequence[Any],
    max_epochs: int,
    seed: int = 0,
    cpus_per_trial: float = 1.0,
    checkpoint: bool = True,
    checkpoint_every: int | str = "auto",
    decode: Callable[[Mapping[str, Any]], dict] | None = None,
) -> None:
    """Train one config on every fold in lockstep, reporting the fold mean to Ray Tune after each epoch.

    Args:
        config: the searcher's sample (``decode`` maps encoded samples back).
        folds: one :class:`eeg.training.PreparedData` per fold, without the test split, from the object store.
        max_epochs, seed, cpus_per_trial, checkpoint, checkpoint_every, decode: as :func:`trainables.cnn_lstm.train_cnn_lstm`.
    """
    entered = time.perf_counter()
    from eeg.training import import_tensorflow_quietly
    from trainables.devices import hide_unassigned_gpus

    given = hide_unassigned_gpus()  # before TensorFlow starts: a CPU trial on a GPU node takes no GPU
    import_tensorflow_quietly()
    import keras
    import ray

    tf_import_s = time.perf_counter() - entered
    _configure_tensorflow(cpus_per_trial)
    from eeg.cv_training import LockstepFolds
    from eeg.model import resolve_hparams
    from eeg.splits import majority_baseline
    from eeg.training import NonFiniteLossError

    keras.backend.clear_session()  # a reused actor must not carry the last trial's graphs
    hparams = resolve_hparams(decode(config) if decode else config)
    restored = tune.get_checkpoint()
    models, epoch = _restore(restored, len(folds)) if restored is not None else (None, 0)
    trainer = LockstepFolds(hparams, folds, seed=seed, models=models, epoch=epoch)
    baseline = sum(majority_baseline(f.y_train, f.y_val) for f in folds) / len(folds)
    fixed = {"val_majority_baseline": baseline, "node_id": ray.get_runtime_context().get_node_id(),
             "hostname": socket.gethostname(), "setup_s": time.perf_counter() - entered, "tf_import_s": tf_import_s,
             **given}
    policy = CheckpointPolicy(checkpoint_every)
    while trainer.epoch < max_epochs:
        started = time.perf_counter()
        try:
            metrics = {**trainer.train_epoch(), **fixed}
        except NonFiniteLossError as error:
            # Deterministic, as in the single-split trainable: end once as diverged, never retried.
            tune.report({"val_accuracy": 0.0, "epoch": trainer.epoch + 1, **fixed,
                         "diverged": f"{type(error).__name__}: {error}"})
            return
        policy.trained(time.perf_counter() - started)
        if not math.isfinite(metrics["val_accuracy"]):
            metrics["val_accuracy"] = 0.0
        if checkpoint and policy.due(trainer.epoch):
            saving = time.perf_counter()
            _report_with_checkpoint(metrics, trainer.models, trainer.epoch)
            policy.saved(time.perf_counter() - saving)
        else:
            tune.report(metrics)
