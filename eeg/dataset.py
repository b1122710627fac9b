"""The one shape every EEG data source is turned into, and the rules it must obey.

:class:`EEGDataset` holds features ``X``, integer labels ``y`` and, per sample, the ``subject`` and ``trial``
(recording) it was cut from, so that :mod:`eeg.splits` can keep the windows of one trial on one side of a split.
:func:`validate_dataset` checks those rules and raises :class:`eeg.errors.DataError` with one line naming the
source, the rule and the offending value.

This module depends on numpy only. The loaders (:mod:`eeg.loaders` for tables, :mod:`eeg.deap`,
:mod:`eeg.seed`) and :mod:`eeg.synthetic` all build on it, so none of them needs to import another loader
just to get the container.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eeg.errors import DataError

__all__ = ["EEGDataset", "RawEEG", "REPRESENTATIONS", "validate_dataset"]

# How windowed sources (DEAP, SEED, synthetic) shape X: "sequence" (n, n_steps, F), "flat" one (n, F) row per window.
REPRESENTATIONS: tuple[str, ...] = ("sequence", "flat")


@dataclass
class EEGDataset:
    """Features, labels and provenance of every sample.

    Attributes:
        X: ``float32`` features, ``(n, F)`` (one row per window) or ``(n, n_steps, F)`` (sequences of windows).
        y: ``int64`` class index in ``0..K-1``.
        subject: ``int64`` subject id per sample.
        trial: ``int64`` trial id per sample, unique within a subject; ``(subject, trial)`` names one recording.
        class_names: Names of the ``K`` classes, in label order.
        source: Human-readable provenance, e.g. ``"synthetic(seed=0)"`` or the path that was loaded.
    """

    X: np.ndarray
    y: np.ndarray
    subject: np.ndarray
    trial: np.ndarray
    class_names: tuple[str, ...]
    source: str

    @property
    def n_classes(self) -> int:
        """Number of classes ``K`` (the length of :attr:`class_names`)."""
        return len(self.class_names)

    @property
    def groups(self) -> np.ndarray:
        """``int64`` id per sample, unique per ``(subject, trial)`` recording (for group-aware splits)."""
        pairs = np.stack([np.asarray(self.subject, np.int64), np.asarray(self.trial, np.int64)], axis=1)
        if len(pairs) == 0:
            return np.zeros(0, np.int64)
        _, inverse = np.unique(pairs, axis=0, return_inverse=True)
        return inverse.reshape(-1).astype(np.int64)

    def summary(self) -> str:
        """One line describing the data, e.g. ``"640 samples, X (640, 8, 167), 4 classes, 2 subjects, 80 trials"``."""
        return (
            f"{len(self.y)} samples, X {tuple(self.X.shape)}, {self.n_classes} classes, "
            f"{len(np.unique(self.subject))} subjects, {len(np.unique(self.groups))} trials"
        )


@dataclass(frozen=True)
class RawEEG:
    """Raw recordings: ``signals[i]`` is trial ``trial[i]`` of subject ``subject[i]`` with class ``labels[i]``.

    What a ``--space pipeline`` trial cuts its own windows from (:mod:`eeg.pipeline`); made by
    :func:`eeg.synthetic.generate_raw` and :func:`eeg.deap.load_deap_raw`.
    """

    signals: np.ndarray  # (n_trials_total, n_channels, n_samples) float32, µV
    labels: np.ndarray  # int64 class index
    subject: np.ndarray  # int64
    trial: np.ndarray  # int64, unique within a subject
    fs: float
    channel_names: tuple[str, ...]
    class_names: tuple[str, ...]


def _plain(value: object) -> object:
    """A numpy scalar as the Python value, so messages read ``got 5``, not ``got np.int64(5)``."""
    return value.item() if isinstance(value, np.generic) else value


def _first_bad(mask: np.ndarray, axis_names: Sequence[str], feature_names: Sequence[str] | None) -> str:
    """Describe the first True position of ``mask``, e.g. ``"sample 4, step 2, feature 7 ('F3_alpha_de')"``."""
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    parts = [f"{name} {i}" for name, i in zip(axis_names, index)]
    if feature_names is not None and len(feature_names) == mask.shape[-1]:
        parts[-1] += f" ({feature_names[index[-1]]!r})"
    return ", ".join(parts)


def validate_dataset(ds: EEGDataset, where: str, *, feature_names: Sequence[str] | None = None) -> None:
    """Check a dataset against the rules every consumer relies on.

    Args:
        ds: The dataset to check.
        where: The file or object the data came from; it starts every message.
        feature_names: Optional names of the last axis of ``X``, used to point at a non-finite value.

    Raises:
        DataError: One line naming ``where``, the rule and the value, for: empty data, ``X`` not 2-D or 3-D,
            ``y`` not 1-D, a length mismatch between ``X``, ``y``, ``subject`` and ``trial``, a non-numeric ``X``,
            labels that are not integers or not in ``0..K-1``, fewer than two classes, NaN or Inf in ``X``, or
            subject/trial ids that are not integers.
    """
    X, y = np.asarray(ds.X), np.asarray(ds.y)
    if X.ndim not in (2, 3):
        raise DataError(f"{where}: X must be 2-D (n, features) or 3-D (n, steps, features), got shape {X.shape}")
    if y.ndim != 1:
        raise DataError(f"{where}: labels must be 1-D (n,), got shape {y.shape}")
    if len(X) == 0 or X.shape[-1] == 0:
        raise DataError(f"{where}: no data: X has shape {X.shape}")
    if len(X) != len(y):
        raise DataError(f"{where}: X and labels must have the same length, got {len(X)} samples and {len(y)} labels")
    for name in ("subject", "trial"):
        ids = np.asarray(getattr(ds, name))
        if ids.shape != y.shape:
            raise DataError(f"{where}: {name} ids must have one entry per sample ({len(y)}), got shape {ids.shape}")
        if not np.issubdtype(ids.dtype, np.integer):
            raise DataError(f"{where}: {name} ids must be integers, got dtype {ids.dtype}")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise DataError(f"{where}: X must be real numbers, got dtype {X.dtype}")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where}: labels must be an integer array, got dtype {y.dtype}")
    k = ds.n_classes
    out_of_range = (y < 0) | (y > k - 1)
    if out_of_range.any():
        one_based = "; labels look 1-based, subtract 1" if y.min() == 1 and y.max() == k else ""
        raise DataError(
            f"{where}: labels must be integers in 0..{k - 1} ({k} classes), "
            f"got {_plain(y[out_of_range][0])!r} at sample {int(np.argmax(out_of_range))}{one_based}"
        )
    present = np.unique(y)
    if len(present) < 2:
        raise DataError(f"{where}: need at least two classes to classify, got only label {present.tolist()}")
    finite = np.isfinite(X)
    if not finite.all():
        axes = ("sample", "feature") if X.ndim == 2 else ("sample", "step", "feature")
        raise DataError(
            f"{where}: X must be finite, got {int((~finite).sum())} NaN/Inf values; "
            f"first at {_first_bad(~finite, axes, feature_names)}"
        )
