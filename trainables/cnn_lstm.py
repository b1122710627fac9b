"""The Ray Tune function trainable for the CNN+LSTM emotion model.

One ``ray.tune.report`` per epoch, with a checkpoint (the ``.keras`` file holds the weights and
the optimizer state; ``state.json`` the epoch) as :class:`CheckpointPolicy` says, so ASHA can
stop a trial at any epoch, HyperBand pause it, and a restored trial continue after its last
checkpoint. A checkpoint every epoch cost about 20% of the trial's throughput on the
benchmark's tiny task (BENCHMARKS.md), nothing much on real EEG: hence "auto".
TensorFlow is imported inside the trainable, not at module level: the driver never
pays for it, and a reused actor pays for it once (Ray's ``tune_mnist_keras.py``).
"""

from __future__ import annotations

import json
import math
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from ray import tune

__all__ = ["train_cnn_lstm", "CheckpointPolicy", "CHECKPOINT_MODEL_FILE", "CHECKPOINT_STATE_FILE"]

CHECKPOINT_MODEL_FILE = "model.keras"
CHECKPOINT_STATE_FILE = "state.json"

# The last trial on this actor that Ray stopped, kept until the next trial starts (see _stopped_trial_kept).
_STOPPED_TRIAL: list[Any] = []


def _configure_tensorflow(cpus_per_trial: float) -> None:
    """TensorFlow threads follow the trial's CPUs; GPU memory grows so fractional trials share a card."""
    import logging

    import tensorflow as tf

    from eeg.training import configure_threads

    # Ray logs "Checkpoint successfully created at ..." per epoch from here to the driver's console.
    logging.getLogger("ray.train._internal.storage").setLevel(logging.WARNING)

    # A reused actor already ran TensorFlow with these same resources: then this is a no-op.
    configure_threads(max(1, int(round(cpus_per_trial))))
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # already initialised in this process; growth was set by the first trial


class CheckpointPolicy:
    """When a trial saves: every ``every`` epochs, or (``"auto"``) once it has trained ``SAVE_COST_RATIO`` times
    as long as its last save took since that save: saving then costs at most 1/ratio of throughput, and a
    crash loses at most one epoch or ratio x a save's time, whichever is longer. The first epoch always saves:
    it measures the save, and a retried trial never starts from nothing."""

    SAVE_COST_RATIO = 20.0  # <= 5% of throughput: the 0.95 goal of benchmarks/bench_throughput.py

    def __init__(self, every: int | str) -> None:
        self.every = every
        self.trained_s = 0.0  # training since the last save
        self.save_s: float | None = None

    def trained(self, seconds: float) -> None:
        self.trained_s += seconds

    def due(self, epoch: int) -> bool:
        if self.every != "auto":
            return epoch % int(self.every) == 0
        return self.save_s is None or self.trained_s >= self.SAVE_COST_RATIO * self.save_s

    def saved(self, seconds: float) -> None:
        self.save_s, self.trained_s = seconds, 0.0


def _restore(checkpoint: tune.Checkpoint) -> tuple[Any, int]:
    import keras

    with checkpoint.as_directory() as directory:
        model = keras.models.load_model(Path(directory) / CHECKPOINT_MODEL_FILE)
        state = json.loads((Path(directory) / CHECKPOINT_STATE_FILE).read_text())
    return model, int(state["epoch"])


def _report_with_checkpoint(metrics: dict[str, Any], model: Any, epoch: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        model.save(Path(directory) / CHECKPOINT_MODEL_FILE)
        (Path(directory) / CHECKPOINT_STATE_FILE).write_text(json.dumps({"epoch": epoch}))
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))


def _report_each_epoch(hparams: Mapping[str, Any], fixed: Mapping[str, Any], policy: CheckpointPolicy,
                       checkpoint: bool) -> Any:
    """A Keras callback that reports (and checkpoints) at each epoch's end from inside one ``fit``.

    A ``fit`` call per epoch paid Keras's set-up every epoch: ~0.35 s of a 0.8 s epoch
    (``benchmarks/bench_throughput.py``). Ray's own Keras callbacks report the same way.
    """
    import keras

    from eeg.training import NonFiniteLossError, check_finite

    class ReportEachEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch_index: int, logs: Mapping[str, Any] | None = None) -> None:
            self.epoch_started = time.perf_counter()

        def on_epoch_end(self, epoch_index: int, logs: Mapping[str, Any] | None = None) -> None:
            epoch = epoch_index + 1
            policy.trained(time.perf_counter() - self.epoch_started)
            last = {name: float(value) for name, value in (logs or {}).items()}
            metrics = {"val_accuracy": last["val_accuracy"], "val_loss": last["val_loss"],
                       "accuracy": last["accuracy"], "loss": last["loss"], "epoch": epoch, **fixed}
            try:
                check_finite(last, epoch, hparams)
            except NonFiniteLossError as error:
                # Deterministic: a retry would diverge again and burn --max-failures. The trial ends here,
                # once, as diverged with its reason; searchers get a finite score (accuracy of NaN weights).
                val = last.get("val_accuracy", 0.0)
                metrics.update(val_accuracy=val if math.isfinite(val) else 0.0,
                               diverged=f"{type(error).__name__}: {error}")
                tune.report(metrics)
                self.model.stop_training = True
                return
            if checkpoint and policy.due(epoch):
                started = time.perf_counter()
                _report_with_checkpoint(metrics, self.model, epoch)
                policy.saved(time.perf_counter() - started)
            else:
                tune.report(metrics)

    return ReportEachEpoch()


def _stopped_trial_kept(run: Callable[[], None]) -> None:
    """Run the trial's ``fit``; if Ray stops it, keep its TensorFlow objects for the next trial to free.

    Ray stops a trial by raising ``SystemExit`` in ``tune.report``. With actor reuse the next trial's
    ``reset_config`` then waits only 2 s for this thread to end (``TUNE_FUNCTION_THREAD_TIMEOUT_S``), or
    Ray says "Could not re-use actor" and the trial is lost (``engines/backends/ray_silent_errors.py``).
    Freeing the stopped ``fit``'s input pipeline and model as the exception unwound took 0.35-0.6 s of
    that in a Ray trial with the batch-fed fit (``eeg/batches.py``): on a loaded machine the 2 s ran out.
    Kept here (the traceback holds them), they are freed when the next trial on this actor starts, in its
    own time, and the thread ends within milliseconds.
    """
    try:
        run()
    except SystemExit as stop:
        _STOPPED_TRIAL.append(stop.__traceback__)
        raise


def _model_to_train(hparams: Mapping[str, Any], data: Any) -> tuple[Any, int]:
    """The model and the epochs it has run: restored from the trial's checkpoint, or a new one at epoch 0."""
    from eeg.model import build_model

    restored = tune.get_checkpoint()
    if restored is not None:
        return _restore(restored)
    return build_model(hparams, data.input_shape, data.n_classes), 0


def train_cnn_lstm(
    config: Mapping[str, Any],
    data: Any,
    max_epochs: int,
    seed: int = 0,
    cpus_per_trial: float = 1.0,
    checkpoint: bool = True,
    checkpoint_every: int | str = "auto",
    decode: Callable[[Mapping[str, Any]], dict] | None = None,
    extra_metrics: Mapping[str, Any] | None = None,
) -> None:
    """Train one hyperparameter config in one ``fit``, reporting to Ray Tune after every epoch.

    Args:
        config: the searcher's sample (raw floats for BayesOpt; ``decode`` maps them back).
        data: :class:`eeg.training.PreparedData` without the test split, from the object store.
        max_epochs: the most epochs a trial may run; the scheduler may stop it sooner.
        seed: weight initialisation and shuffling seed, the same for every trial.
        cpus_per_trial: sets TensorFlow's thread pools.
        checkpoint: report checkpoints (needed to pause, resume and restore).
        checkpoint_every: N (every N epochs; a crash redoes at most N-1) or "auto" (:class:`CheckpointPolicy`).
        decode: maps a searcher's encoded sample to model hparams.
        extra_metrics: reported with every epoch (the pipeline trainable's preprocessing facts).
    """
    entered = time.perf_counter()
    _STOPPED_TRIAL.clear()  # the last stopped trial's objects on this actor are freed in this trial's time
    from eeg.training import import_tensorflow_quietly
    from trainables.devices import hide_unassigned_gpus

    given = hide_unassigned_gpus()  # before TensorFlow starts: a CPU trial on a GPU node takes no GPU
    import_tensorflow_quietly()  # no oneDNN/absl start-up lines in every trial's log
    import keras  # noqa: F401 - timed on purpose: this is the start-up cost actor reuse saves
    import ray

    tf_import_s = time.perf_counter() - entered
    _configure_tensorflow(cpus_per_trial)
    from eeg.model import resolve_hparams
    from eeg.splits import majority_baseline
    from eeg.training import train_model

    keras.backend.clear_session()  # a reused actor must not carry the last trial's graph
    hparams = resolve_hparams(decode(config) if decode else config)
    model, last_epoch = _model_to_train(hparams, data)
    from eeg.latency import keras_latency_ms

    fixed = {"latency_ms": keras_latency_ms(model, data.input_shape), "n_params": int(model.count_params()),
             "val_majority_baseline": majority_baseline(data.y_train, data.y_val),
             "node_id": ray.get_runtime_context().get_node_id(), "hostname": socket.gethostname(),
             "setup_s": time.perf_counter() - entered, "tf_import_s": tf_import_s, **given,
             **(extra_metrics or {})}
    if last_epoch < max_epochs:
        # A trial the scheduler stops ends inside one of these reports, as it did in a per-epoch loop.
        callback = _report_each_epoch(hparams, fixed, CheckpointPolicy(checkpoint_every), checkpoint)
        _stopped_trial_kept(lambda: train_model(hparams, data, epochs=max_epochs, initial_epoch=last_epoch,
                                                model=model, seed=seed, callbacks=[callback]))
