"""Fit and evaluate one hyperparameter set: used by the Ray trainables and by ``train``/``verify``.

Data are standardised per feature with statistics of the training split only; the mean
and scale are kept on :class:`PreparedData` so a saved model can be applied to new data
the same way. Every evaluation reports the majority-class baseline and chance next to the
accuracy, because 40 % means little until you know that always saying "calm" gets 38 %.

TensorFlow is imported inside the functions that need it, so importing this module is cheap
and :func:`configure_threads` can still act before TensorFlow starts.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.preprocessing import StandardScaler

from eeg.batches import in_order_batches, training_batches
from eeg.errors import DataError, InputError
from eeg.model import build_model, resolve_hparams
from eeg.splits import Split, majority_baseline

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras

__all__ = [
    "PreparedData",
    "prepare_data",
    "train_model",
    "evaluate",
    "accuracy_line",
    "configure_threads",
    "NonFiniteLossError",
    "check_finite",
    "import_tensorflow_quietly",
]

_log = logging.getLogger(__name__)
# (id of the model, the epoch it reached, seed) after the last train_model call in this process.
_continued: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class PreparedData:
    """Standardised arrays for each side of a split.

    Attributes:
        X_train, y_train, X_val, y_val: Training and validation arrays (``X`` float32).
        X_test, y_test: The held-out test arrays, or ``None`` where the caller must not see
            them (tuning trials get :meth:`without_test`).
        n_classes: Number of classes of the dataset (not only those present in train).
        class_names: Names of the classes, by index.
        scaler_mean, scaler_scale: Per-feature statistics of the training split; apply them
            to new data with :meth:`standardize`.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    n_classes: int
    class_names: tuple[str, ...]
    scaler_mean: np.ndarray | None = None
    scaler_scale: np.ndarray | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample: ``(n_steps, n_features)`` or ``(n_features,)``."""
        return tuple(int(d) for d in self.X_train.shape[1:])

    def without_test(self) -> PreparedData:
        """A copy with ``X_test``/``y_test`` set to ``None``: what a tuning trial may see."""
        return dataclasses.replace(self, X_test=None, y_test=None)

    def standardize(self, X: np.ndarray) -> np.ndarray:
        """Apply the training statistics to raw features ``X`` (same shape as the dataset's)."""
        if self.scaler_mean is None or self.scaler_scale is None:
            raise DataError("PreparedData: no scaler statistics stored; build it with prepare_data")
        return ((np.asarray(X, dtype=np.float32) - self.scaler_mean) / self.scaler_scale).astype(np.float32)


def prepare_data(ds: Any, split: Split) -> PreparedData:
    """Cut ``ds`` along ``split`` and standardise every feature with train statistics only.

    Statistics are computed over all training samples and time steps (the last axis is
    the feature axis), so nothing about the validation or test recordings leaks into them.

    Args:
        ds: An :class:`~eeg.dataset.EEGDataset` (``X``, ``y``, ``n_classes``, ``class_names``).
        split: Indices from :func:`eeg.splits.make_split`; an empty ``test`` gives ``None``.

    Returns:
        A :class:`PreparedData`.

    Raises:
        DataError: The train or validation side is empty.
    """
    X = np.asarray(ds.X, dtype=np.float32)
    y = np.asarray(ds.y, dtype=np.int64)
    for side in ("train", "val"):
        if len(getattr(split, side)) == 0:
            raise DataError(f"prepare_data: the {split.strategy} split has an empty {side} side")
    n_features = X.shape[-1]
    scaler = StandardScaler().fit(X[split.train].reshape(-1, n_features))

    def scaled(idx: np.ndarray) -> np.ndarray:
        part = X[idx]
        return scaler.transform(part.reshape(-1, n_features)).reshape(part.shape).astype(np.float32)

    has_test = len(split.test) > 0
    return PreparedData(
        X_train=scaled(split.train),
        y_train=y[split.train],
        X_val=scaled(split.val),
        y_val=y[split.val],
        X_test=scaled(split.test) if has_test else None,
        y_test=y[split.test] if has_test else None,
        n_classes=int(ds.n_classes),
        class_names=tuple(ds.class_names),
        scaler_mean=scaler.mean_.astype(np.float32),
        scaler_scale=scaler.scale_.astype(np.float32),
    )


def train_model(
    hparams: Mapping[str, Any],
    data: PreparedData,
    *,
    epochs: int,
    seed: int = 0,
    callbacks: Iterable[Any] = (),
    early_stopping_patience: int | None = None,
    initial_epoch: int = 0,
    model: keras.Model | None = None,
    verbose: int = 0,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Fit a model on ``data.X_train`` with validation on ``data.X_val``.

    Args:
        hparams: Overrides of :data:`eeg.model.DEFAULT_HPARAMS`; ``batch_size`` is used here.
        data: Prepared arrays; the test arrays are never read.
        epochs: Index of the last epoch to run (Keras semantics: runs ``epochs - initial_epoch``).
        seed: Seeds Python, NumPy and TensorFlow with ``seed + initial_epoch`` when a model starts
            or resumes. A call that continues the model the previous call in this process left
            at ``initial_epoch`` (a trainable calling this once per epoch) keeps the random
            stream going instead: reseeding TensorFlow makes it retrace the train step, which
            cost 0.6-1.5 s an epoch (``benchmarks/bench_throughput.py``). Epoch ``e``'s shuffle
            depends on ``seed`` and ``e`` only (:mod:`eeg.batches`), resumed or not.
        callbacks: Extra Keras callbacks.
        early_stopping_patience: If set, stop when ``val_accuracy`` has not improved for this many
            epochs and restore the best weights. Accuracy, not loss: it is what tuning selects on, and
            on EEG the validation loss often rises (over-confidence) while accuracy still improves.
        initial_epoch: Epoch to resume from (for a restored checkpoint).
        model: Continue training this model instead of building a new one.
        verbose: Keras verbosity.

    Returns:
        ``(model, history)`` where ``history`` maps each metric (``loss``, ``accuracy``,
        ``val_loss``, ``val_accuracy``) to one float per epoch run.

    Raises:
        HParamError: A hyperparameter is unknown or invalid.
    """
    import keras

    hp = resolve_hparams(hparams)
    if int(epochs) <= int(initial_epoch):
        raise InputError(f"train_model: epochs must be > initial_epoch, got {epochs=}, {initial_epoch=}")
    global _continued
    if model is None or _continued != (id(model), int(initial_epoch), int(seed)):
        keras.utils.set_random_seed(int(seed) + int(initial_epoch))
    if model is None:
        model = build_model(hp, data.input_shape, data.n_classes)
    all_callbacks = list(callbacks)
    if early_stopping_patience is not None:
        all_callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy",
                mode="max",
                patience=int(early_stopping_patience),
                restore_best_weights=True,
            )
        )
    # Batch by batch from the arrays as given: a trial's are zero-copy views of Ray's object store, which
    # fit(X, y) would copy into tensors (eeg/batches.py).
    batches, per_epoch = training_batches(data.X_train, data.y_train, hp["batch_size"], seed=int(seed),
                                          initial_epoch=int(initial_epoch), epochs=int(epochs))
    fitted = model.fit(
        batches,
        steps_per_epoch=per_epoch,
        validation_data=in_order_batches(data.X_val, data.y_val, 256),
        epochs=int(epochs),
        initial_epoch=int(initial_epoch),
        callbacks=all_callbacks,
        shuffle=False,  # the batches are shuffled already, reproducibly per epoch
        verbose=verbose,
    )
    history = {name: [float(v) for v in values] for name, values in fitted.history.items()}
    _continued = (id(model), int(initial_epoch) + len(history.get("loss", [])), int(seed))
    return model, history


def evaluate(model: keras.Model, X: np.ndarray, y: np.ndarray, y_train: np.ndarray) -> dict[str, float]:
    """Accuracy and loss of ``model`` on ``(X, y)``, with the baselines of the same split.

    Args:
        model: A compiled classifier from :func:`eeg.model.build_model`.
        X, y: The evaluation arrays (validation or test).
        y_train: Training labels, which define the majority class.

    Returns:
        ``{"accuracy", "loss", "majority_baseline", "chance"}`` as floats; ``chance`` is
        ``1 / n_classes`` of the model's output layer.
    """
    scores = model.evaluate(X, y, batch_size=256, verbose=0, return_dict=True)
    n_classes = int(model.output_shape[-1])
    return {
        "accuracy": float(scores["accuracy"]),
        "loss": float(scores["loss"]),
        "majority_baseline": majority_baseline(y_train, y),
        "chance": 1.0 / n_classes,
    }


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or Inf: this trial failed, the search goes on (a Ray trial ends as failed with this reason)."""


def check_finite(last: Mapping[str, float], epoch: int, hparams: Mapping[str, Any]) -> None:
    """Raise :class:`NonFiniteLossError` when an epoch's ``loss`` or ``val_loss`` is NaN or Inf."""
    loss, val_loss = last.get("loss"), last.get("val_loss")
    if not all(v is not None and math.isfinite(float(v)) for v in (loss, val_loss)):
        raise NonFiniteLossError(
            f"loss became {loss} (val_loss {val_loss}) at epoch {epoch} "
            f"with learning_rate={hparams.get('learning_rate')}, optimizer={hparams.get('optimizer')}"
        )


def accuracy_line(label: str, accuracy: float, majority_baseline: float, chance: float) -> str:
    """Format an accuracy next to its baselines.

    Example:
        ``accuracy_line("Test accuracy", 0.413, 0.208, 0.2)`` gives
        ``"Test accuracy: 41.3% (majority baseline 20.8%, chance 20.0%)"``.
    """
    return f"{label}: {accuracy:.1%} (majority baseline {majority_baseline:.1%}, chance {chance:.1%})"


class _DropRetracingNotes(logging.Filter):
    """TensorFlow warns about tf.function retracing each time a new model trains in the same process.

    ``verify`` trains one model per seed (or fold) and config on purpose; the note has nothing for a
    user to act on and would be printed between every result line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def import_tensorflow_quietly() -> None:
    """Import TensorFlow without its C++ start-up lines, and drop its retracing notes.

    TensorFlow 2.17+ prints ``oneDNN custom operations are on`` and an absl notice on stderr at
    import, before ``TF_CPP_MIN_LOG_LEVEL`` applies. File descriptor 2 points at /dev/null for the
    import only: an import error still raises (and prints) as usual, and every later warning shows.
    """
    import os
    import sys

    if "tensorflow" not in sys.modules:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
                import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    tf_logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _DropRetracingNotes) for f in tf_logger.filters):
        tf_logger.addFilter(_DropRetracingNotes())


def configure_threads(n_threads: int) -> bool:
    """Limit TensorFlow to ``n_threads`` intra-op and inter-op threads.

    Call it before TensorFlow executes anything (a Ray trainable does so first thing, so
    trials sharing a node do not each grab every core). Once TensorFlow has started the
    setting is frozen; then this logs at debug level and changes nothing.

    Returns:
        ``True`` if the setting was applied, ``False`` if it was too late.

    Raises:
        InputError: ``n_threads`` is not a positive integer.
    """
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) or n_threads < 1:
        raise InputError(f"configure_threads: n_threads must be a positive integer, got {n_threads!r}")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(n_threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(n_threads))
    except RuntimeError as exc:  # TensorFlow's context is already initialised
        _log.debug("configure_threads(%d) ignored: %s", n_threads, exc)
        return False
    return True
