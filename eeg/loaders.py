"""Load EEG emotion data from disk into an :class:`~eeg.dataset.EEGDataset`, refusing malformed data in one line.

Every loader returns an :class:`~eeg.dataset.EEGDataset`, the container :mod:`eeg.dataset` defines with its
rules (:func:`~eeg.dataset.validate_dataset`). Three kinds of input are understood:

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
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# _plain is shared within the package so every message prints values the same way.
from eeg.dataset import REPRESENTATIONS, EEGDataset, _plain, validate_dataset
from eeg.deap import load_deap
from eeg.errors import DataError, InputError
from eeg.seed import load_seed

__all__ = ["KINDS", "load_dataset", "load_table", "leakage_warning"]

KINDS: tuple[str, ...] = ("table", "deap", "seed")
TABLE_SUFFIXES: tuple[str, ...] = (".npz", ".csv", ".parquet")
# Columns of a csv/parquet table that are not features.
LABEL_COLUMN, SUBJECT_COLUMN, TRIAL_COLUMN = "label", "subject", "trial"


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
    if kind == "deap":
        return load_deap(path, label_rule=label_rule, representation=representation)
    if kind == "seed":
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


def leakage_warning(where: str, missing: Sequence[str], kind: str = "columns") -> str:
    """The one line a table without recording ids gets at load time (empty when nothing is missing)."""
    if not missing:
        return ""
    names = " and ".join(repr(m) for m in missing)
    if TRIAL_COLUMN in missing:
        consequence = ("every row becomes its own recording, so windows of one recording can land on both sides "
                       "of the split and inflate accuracy")
    else:
        consequence = "all rows count as one subject, so --split subject cannot hold out people"
    return f"warning: {where}: no {names} {kind}: {consequence}; add {SUBJECT_COLUMN!r} and {TRIAL_COLUMN!r} {kind}"


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
    missing = [name for name, ids in ((SUBJECT_COLUMN, subject), (TRIAL_COLUMN, trial)) if ids is None]
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
    if missing:  # said once, at load time, and only for data that loads (bad data gets its one error line)
        print(leakage_warning(where, missing, "arrays" if where.lower().endswith(".npz") else "columns"),
              file=sys.stderr, flush=True)
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
