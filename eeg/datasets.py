"""Load EEG emotion data into one shape, and refuse malformed data with one clear line.

Every loader returns an :class:`EEGDataset`: features ``X``, integer labels ``y`` and, per sample, the
``subject`` and ``trial`` (recording) it was cut from, so that :mod:`eeg.splits` can keep the windows of one
trial on one side of a split. Three kinds of input are understood:

``"table"``
    A feature table the user made: ``.npz``, ``.csv`` or ``.parquet`` (see :func:`load_table`).
``"deap"``
    DEAP's ``data_preprocessed_python`` folder (see :mod:`eeg.deap`; labels follow :data:`eeg.deap.LABEL_RULES`).
``"seed"``
    SEED's ``ExtractedFeatures`` or ``Preprocessed_EEG`` folder (see :mod:`eeg.seed`).

DEAP and SEED are licensed data sets: nothing here downloads anything. Bad input raises
:class:`eeg.errors.DataError` (or :class:`eeg.errors.InputError` for a bad argument) whose one-line message names
the file, the rule and the offending value; loaders never write anything.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eeg.errors import DataError, InputError

__all__ = [
    "EEGDataset",
    "KINDS",
    "REPRESENTATIONS",
    "load_dataset",
    "load_table",
    "validate_dataset",
]

KINDS: tuple[str, ...] = ("table", "deap", "seed")
REPRESENTATIONS: tuple[str, ...] = ("sequence", "flat")
TABLE_SUFFIXES: tuple[str, ...] = (".npz", ".csv", ".parquet")
# Columns of a csv/parquet table that are not features.
LABEL_COLUMN, SUBJECT_COLUMN, TRIAL_COLUMN = "label", "subject", "trial"


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


def load_dataset(
    path: str | os.PathLike[str],
    kind: str = "table",
    *,
    label_rule: str | None = None,
    representation: str = "sequence",
) -> EEGDataset:
    """Load and validate a data set from disk.

    Args:
        path: A table file (``kind="table"``) or a DEAP / SEED folder.
        kind: ``"table"``, ``"deap"`` or ``"seed"``.
        label_rule: DEAP only: one of :data:`eeg.deap.LABEL_RULES` (default ``"quadrants"``).
        representation: For DEAP and SEED: ``"sequence"`` gives ``(n, n_steps, F)`` sequences of consecutive
            windows, ``"flat"`` one ``(n, F)`` row per window. A table's arrays are used as stored.

    Returns:
        The validated dataset.

    Raises:
        InputError: An unknown ``kind``, ``representation`` or ``label_rule``.
        DataError: The path is missing, unreadable or breaks a rule of :func:`validate_dataset`.
    """
    if kind not in KINDS:
        raise InputError(f"dataset kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if representation not in REPRESENTATIONS:
        raise InputError(f"representation must be one of {', '.join(REPRESENTATIONS)}, got {representation!r}")
    if label_rule is not None and kind != "deap":
        raise InputError(f"label_rule applies only to kind='deap', got label_rule={label_rule!r} for kind={kind!r}")
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    # DEAP and SEED loaders pull in scipy.io and pickle handling; import them only when asked for.
    if kind == "deap":
        from eeg.deap import load_deap

        return load_deap(path, label_rule=label_rule, representation=representation)
    if kind == "seed":
        from eeg.seed import load_seed

        return load_seed(path, representation=representation)
    return load_table(path)


def _integer_ids(values: np.ndarray, what: str, where: str) -> np.ndarray:
    """Cast subject/trial ids to int64, refusing text, NaN and fractions."""
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.integer):
        return values.astype(np.int64)
    if values.dtype == bool or not np.issubdtype(values.dtype, np.number):
        example = f" (e.g. {_plain(values.flat[0])!r})" if values.size else ""
        raise DataError(f"{where}: {what} must be integers, got dtype {values.dtype}{example}")
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        value, row = _plain(values[bad][0]), int(np.argmax(bad))
        raise DataError(f"{where}: {what} must be integers, got {value!r} at row {row}")
    return values.astype(np.int64)


def _labels(y: np.ndarray, where: str) -> np.ndarray:
    """Cast labels to int64 (integral floats such as 2.0 are fine); anything else breaks the label rule."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:  # Keras-style (n, 1) column
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{where}: labels must be 1-D (n,) class indices, got shape {y.shape}")
    if np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.number):
        raise DataError(
            f"{where}: labels must be integers 0..K-1, got dtype {y.dtype}"
            + (f" (e.g. {_plain(y[0])!r}); encode class names as integers" if len(y) else "")
        )
    bad = ~np.isfinite(y) | (y != np.round(y))
    if bad.any():
        raise DataError(f"{where}: labels must be integers, got {_plain(y[bad][0])!r} at row {int(np.argmax(bad))}")
    return y.astype(np.int64)


def _table_dataset(
    X: np.ndarray,
    y: np.ndarray,
    subject: np.ndarray | None,
    trial: np.ndarray | None,
    class_names: Sequence[str] | None,
    where: str,
    feature_names: Sequence[str] | None = None,
) -> EEGDataset:
    X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.number) or X.dtype == bool:
        raise DataError(f"{where}: X must be numeric, got dtype {X.dtype}")
    y = _labels(y, where)
    n = len(y)
    # No ids: each row becomes its own trial of subject 0 (documented in load_table).
    subject = np.zeros(n, np.int64) if subject is None else _integer_ids(subject, "subject", where)
    trial = np.arange(n, dtype=np.int64) if trial is None else _integer_ids(trial, "trial", where)
    if class_names is None:
        # K = number of distinct labels, so 1-based or gapped labels ({1..5}, {0,1,3}) fail the 0..K-1 rule.
        class_names = tuple(f"class_{i}" for i in range(max(len(np.unique(y)), 1)))
    with np.errstate(over="ignore"):  # values beyond float32 become Inf and are reported as such
        X32 = X.astype(np.float32)
    ds = EEGDataset(X32, y, subject, trial, tuple(str(c) for c in class_names), where)
    validate_dataset(ds, where, feature_names=feature_names)
    return ds


def load_table(path: str | os.PathLike[str]) -> EEGDataset:
    """Load a feature table from ``.npz``, ``.csv`` or ``.parquet``.

    * ``.npz``: arrays ``X`` (``(n, F)`` or ``(n, n_steps, F)``) and ``y`` (``(n,)``), optional ``subject``,
      ``trial`` and ``class_names``. A file with the seed's naming (``X_train``/``y_train`` and optionally
      ``X_val``/``y_val``, ``X_test``/``y_test``) is read as their concatenation, in that order: the tuner
      carves its own leakage-safe splits. Object arrays are refused (no unpickling).
    * ``.csv`` / ``.parquet``: one row per sample, a ``label`` column, optional ``subject`` and ``trial``
      columns; every other column is a numeric feature (a non-numeric one is an error naming it).

    Labels must be integers ``0..K-1``; without ``class_names``, ``K`` is the number of distinct labels and the
    classes are named ``class_0..``.

    Without ``subject``/``trial``, every row is its own trial of subject 0. A trial split is then a split by
    row: rows cut from one recording can land on both sides and inflate accuracy. Supply ``subject`` and
    ``trial`` to avoid that leakage.

    Raises:
        DataError: The file is missing, unreadable, lacks ``X``/``y``/``label``, has a non-numeric feature
            column, or breaks a rule of :func:`validate_dataset`.
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise DataError(f"{where}: no such file" if not path.exists() else f"{where}: expected a file, got a folder")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path)
    if suffix in (".csv", ".parquet"):
        return _load_frame(path, suffix)
    raise DataError(f"{where}: a table must be one of {', '.join(TABLE_SUFFIXES)}, got suffix {path.suffix!r}")


def _load_npz(path: Path) -> EEGDataset:
    where = str(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{where}: cannot read as .npz: {exc}") from None
    if "X" in arrays and "y" in arrays:
        X, y = arrays["X"], arrays["y"]
    elif "X_train" in arrays and "y_train" in arrays:
        parts = [p for p in ("train", "val", "test") if f"X_{p}" in arrays and f"y_{p}" in arrays]
        shapes = {arrays[f"X_{p}"].shape[1:] for p in parts}
        if len(shapes) != 1:
            raise DataError(f"{where}: X_train/X_val/X_test must have the same feature shape, got {sorted(shapes)}")
        X = np.concatenate([arrays[f"X_{p}"] for p in parts])
        y = np.concatenate([_labels(arrays[f"y_{p}"], f"{where} (y_{p})") for p in parts])
    else:
        raise DataError(f"{where}: needs arrays 'X' and 'y' (or 'X_train' and 'y_train'), found {sorted(arrays)}")
    class_names = arrays.get("class_names")
    if class_names is not None:
        class_names = [str(c) for c in np.asarray(class_names).reshape(-1)]
    return _table_dataset(X, y, arrays.get("subject"), arrays.get("trial"), class_names, where)


def _column(series) -> np.ndarray:
    """A label/id column as numpy: numbers (NaN kept for missing values, so rules can report it) or objects."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan) if series.isna().any() else series.to_numpy()
    return series.to_numpy(dtype=object)


def _load_frame(path: Path, suffix: str) -> EEGDataset:
    import pandas as pd  # heavy; only tables need it

    where = str(path)
    try:
        frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except Exception as exc:  # pandas/pyarrow raise many types for a corrupt file; all mean "unreadable"
        raise DataError(f"{where}: cannot read as {suffix}: {type(exc).__name__}: {exc}") from None
    frame.columns = [str(c) for c in frame.columns]
    if LABEL_COLUMN not in frame.columns:
        shown = ", ".join(frame.columns[:10]) + (", ..." if len(frame.columns) > 10 else "")
        raise DataError(f"{where}: needs a {LABEL_COLUMN!r} column, found columns [{shown}]")
    features = [c for c in frame.columns if c not in (LABEL_COLUMN, SUBJECT_COLUMN, TRIAL_COLUMN)]
    if not features:
        raise DataError(f"{where}: no feature columns besides {LABEL_COLUMN!r}/{SUBJECT_COLUMN!r}/{TRIAL_COLUMN!r}")
    for column in features:
        dtype = frame[column].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            example = frame[column].dropna().iloc[0] if frame[column].notna().any() else None
            raise DataError(f"{where}: feature column {column!r} must be numeric, got {dtype} (e.g. {example!r})")
    X = frame[features].to_numpy(dtype=np.float64, na_value=np.nan)
    y = _column(frame[LABEL_COLUMN])
    ids = {c: _column(frame[c]) for c in (SUBJECT_COLUMN, TRIAL_COLUMN) if c in frame.columns}
    return _table_dataset(X, y, ids.get(SUBJECT_COLUMN), ids.get(TRIAL_COLUMN), None, where, feature_names=features)
