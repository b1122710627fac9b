"""Load DEAP's ``data_preprocessed_python`` release as an :class:`~eeg.dataset.EEGDataset`.

DEAP (Koelstra et al., 2012) is licensed: request it from its authors; nothing here downloads it. The folder
holds ``s01.dat`` .. ``s32.dat``, one Python-2 pickle per subject of a dict with

* ``data``: ``(40 trials, 40 channels, 8064 samples)`` at 128 Hz: a 3 s pre-trial baseline, then the 60 s
  music video. The first 32 channels are EEG in :data:`DEAP_CHANNELS` order; the rest are peripheral.
* ``labels``: ``(40, 4)`` self-assessment ratings, floats in ``[1, 9]``: valence, arousal, dominance, liking.

The loader drops the baseline after subtracting its per-channel mean from the trial, keeps the 32 EEG
channels and featurizes each trial with :func:`eeg.features.featurize_trials`. Subject ids come from the file
name (``s07.dat`` -> 7); trial ids are 0..39 within a subject.

Label rules (:data:`LABEL_RULES`; "high" means a rating above 5.0, the scale's midpoint):

``"valence"``
    2 classes: ``low_valence`` (valence <= 5), ``high_valence`` (> 5).
``"arousal"``
    2 classes: ``low_arousal`` (arousal <= 5), ``high_arousal`` (> 5).
``"quadrants"`` (default)
    4 classes of the valence-arousal plane: ``LVLA``, ``LVHA``, ``HVLA``, ``HVHA``.
``"valence5"``
    5 classes from valence bins ``[1, 2.6)``, ``[2.6, 4.2)``, ``[4.2, 5.8)``, ``[5.8, 7.4)``, ``[7.4, 9]``:
    ``very_negative``, ``negative``, ``neutral``, ``positive``, ``very_positive``.

Security: the files are pickles. They are read with an unpickler that only rebuilds numpy arrays, so a
tampered ``.dat`` file cannot run code.
"""

from __future__ import annotations

import importlib
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eeg.dataset import REPRESENTATIONS, EEGDataset, validate_dataset
from eeg.errors import DataError, InputError

__all__ = ["DEAP_CHANNELS", "DEAP_FS", "DEFAULT_LABEL_RULE", "LABEL_RULES", "LabelRule", "load_deap", "load_deap_raw",
           "read_deap_file"]

DEAP_FS = 128
BASELINE_S = 3
N_EEG = 32
RATINGS = ("valence", "arousal", "dominance", "liking")
DEAP_CHANNELS: tuple[str, ...] = (
    "Fp1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7", "PO3", "O1", "Oz", "Pz",
    "Fp2", "AF4", "Fz", "F4", "F8", "FC6", "FC2", "Cz", "C4", "T8", "CP6", "CP2", "P4", "P8", "PO4", "O2",
)  # fmt: skip
FOLDER = "data_preprocessed_python"
_FILE = re.compile(r"^s(\d+)\.dat$", re.IGNORECASE)


@dataclass(frozen=True)
class LabelRule:
    """How DEAP's ``(n, 4)`` ratings become class indices.

    Attributes:
        description: One line for docs and messages.
        class_names: Names of the classes, in index order.
        classify: ``ratings (n, 4) -> int64 (n,)`` class indices.
    """

    description: str
    class_names: tuple[str, ...]
    classify: Callable[[np.ndarray], np.ndarray]


def _high(ratings: np.ndarray, column: str) -> np.ndarray:
    return (ratings[:, RATINGS.index(column)] > 5.0).astype(np.int64)


LABEL_RULES: dict[str, LabelRule] = {
    "valence": LabelRule("valence > 5 -> high", ("low_valence", "high_valence"), lambda r: _high(r, "valence")),
    "arousal": LabelRule("arousal > 5 -> high", ("low_arousal", "high_arousal"), lambda r: _high(r, "arousal")),
    "quadrants": LabelRule(
        "valence/arousal > 5 -> high, 4 quadrants",
        ("LVLA", "LVHA", "HVLA", "HVHA"),
        lambda r: 2 * _high(r, "valence") + _high(r, "arousal"),
    ),
    "valence5": LabelRule(
        "valence bins [1,2.6) [2.6,4.2) [4.2,5.8) [5.8,7.4) [7.4,9]",
        ("very_negative", "negative", "neutral", "positive", "very_positive"),
        lambda r: np.digitize(r[:, 0], [2.6, 4.2, 5.8, 7.4]).astype(np.int64),
    ),
}
DEFAULT_LABEL_RULE = "quadrants"

# The only globals a DEAP pickle needs: numpy's array reconstruction (under numpy 1.x and 2.x module names),
# plus ``_codecs.encode``, which Python 3 writes for bytes in protocol-2 pickles.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "numpy.core.multiarray"),
    ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "numpy.core.multiarray"),
    ("numpy.core.multiarray", "scalar"): ("numpy._core.multiarray", "numpy.core.multiarray"),
    ("numpy._core.multiarray", "scalar"): ("numpy._core.multiarray", "numpy.core.multiarray"),
    ("numpy", "ndarray"): ("numpy",),
    ("numpy", "dtype"): ("numpy",),
    ("_codecs", "encode"): ("_codecs",),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds numpy arrays and refuses every other global (no code runs on load)."""

    def find_class(self, module: str, name: str) -> Any:
        modules = _ALLOWED_GLOBALS.get((module, name))
        if modules is None:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}; DEAP files hold only arrays")
        for candidate in modules:
            try:
                return getattr(importlib.import_module(candidate), name)
            except (ImportError, AttributeError):
                continue
        raise pickle.UnpicklingError(f"cannot resolve {module}.{name} in this numpy")


def read_deap_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one ``sNN.dat`` file.

    Returns:
        ``(data, ratings)``: ``data`` ``(n_trials, n_channels, n_samples)`` as stored, ``ratings`` ``(n_trials, 4)``.

    Raises:
        DataError: The file is unreadable, not a dict with ``data`` and ``labels``, or has the wrong shapes
            or ratings outside ``[1, 9]``.
    """
    where = str(path)
    try:
        with open(path, "rb") as f:
            content = _ArrayUnpickler(f, encoding="latin1").load()
    except Exception as exc:  # corrupt pickles raise many types; all mean "unreadable"
        raise DataError(f"{where}: cannot read as a DEAP pickle: {type(exc).__name__}: {exc}") from None
    if not isinstance(content, dict) or not {"data", "labels"} <= set(content):
        found = sorted(map(str, content)) if isinstance(content, dict) else type(content).__name__
        raise DataError(f"{where}: expected a dict with 'data' and 'labels', found {found}")
    data, ratings = np.asarray(content["data"]), np.asarray(content["labels"])
    min_samples = BASELINE_S * DEAP_FS + 1
    if data.ndim != 3 or data.shape[1] < N_EEG or data.shape[2] < min_samples:
        raise DataError(
            f"{where}: 'data' must be (trials, >= {N_EEG} channels, > {BASELINE_S} s at {DEAP_FS} Hz), "
            f"e.g. (40, 40, 8064), got shape {data.shape}"
        )
    if ratings.shape != (data.shape[0], len(RATINGS)):
        raise DataError(f"{where}: 'labels' must be ({data.shape[0]}, 4) ratings, got shape {ratings.shape}")
    if not np.issubdtype(ratings.dtype, np.number) or not np.isfinite(ratings).all():
        raise DataError(f"{where}: 'labels' must be finite numbers, got dtype {ratings.dtype}")
    outside = (ratings < 1) | (ratings > 9)
    if outside.any():
        row, col = (int(i) for i in np.argwhere(outside)[0])
        raise DataError(
            f"{where}: ratings must be in [1, 9], got {ratings[row, col].item()!r} ({RATINGS[col]} of trial {row})"
        )
    return data, ratings.astype(np.float64)


def _deap_folder(path: Path) -> tuple[Path, list[tuple[int, Path]]]:
    folder = path / FOLDER if (path / FOLDER).is_dir() else path
    if not folder.is_dir():
        raise DataError(f"{path}: DEAP needs the {FOLDER} folder (s01.dat .. s32.dat), got a file")
    files = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _FILE.match(p.name)) and p.is_file())
    if not files:
        raise DataError(f"{folder}: no DEAP subject files (s01.dat .. s32.dat) found")
    return folder, files


def _rule(label_rule: str | None) -> tuple[str, LabelRule]:
    rule_name = DEFAULT_LABEL_RULE if label_rule is None else label_rule
    if rule_name not in LABEL_RULES:
        raise InputError(f"DEAP label rule must be one of {', '.join(LABEL_RULES)}, got {rule_name!r}")
    return rule_name, LABEL_RULES[rule_name]


def _trial_signals(file: Path, subtract_baseline: bool) -> tuple[np.ndarray, np.ndarray]:
    """One subject's EEG trials without the 3 s baseline (its per-channel mean subtracted first), and ratings."""
    data, ratings = read_deap_file(file)
    eeg = np.asarray(data[:, :N_EEG, :], dtype=np.float32)
    baseline = BASELINE_S * DEAP_FS
    signals = eeg[:, :, baseline:]
    if subtract_baseline:
        signals = signals - eeg[:, :, :baseline].mean(axis=2, keepdims=True)
    return signals, ratings


def load_deap_raw(path: str | Path, *, label_rule: str | None = None, subtract_baseline: bool = True) -> Any:
    """The same trials :func:`load_deap` featurizes, as raw recordings (an :class:`eeg.dataset.RawEEG`), for a
    ``--space pipeline`` search that cuts its own windows: 32 EEG channels at 128 Hz, the baseline removed.

    The full release is 32 x 40 trials of 60 s: about 1.3 GB as float32.
    """
    from eeg.dataset import RawEEG

    rule_name, rule = _rule(label_rule)
    _, files = _deap_folder(Path(path))
    signals, labels, subjects, trials = [], [], [], []
    for subject_id, file in files:
        subject_signals, ratings = _trial_signals(file, subtract_baseline)
        signals.extend(subject_signals)
        labels.append(rule.classify(ratings))
        subjects.append(np.full(len(subject_signals), subject_id, dtype=np.int64))
        trials.append(np.arange(len(subject_signals), dtype=np.int64))
    lengths = {s.shape[-1] for s in signals}
    stacked = np.stack(signals) if len(lengths) == 1 else np.array(signals, dtype=object)
    return RawEEG(signals=stacked, labels=np.concatenate(labels), subject=np.concatenate(subjects),
                  trial=np.concatenate(trials), fs=float(DEAP_FS), channel_names=DEAP_CHANNELS,
                  class_names=rule.class_names)


def load_deap(
    path: str | Path,
    *,
    label_rule: str | None = None,
    representation: str = "sequence",
    subtract_baseline: bool = True,
) -> EEGDataset:
    """Load DEAP's preprocessed Python release.

    Args:
        path: The ``data_preprocessed_python`` folder, or a folder containing it.
        label_rule: A key of :data:`LABEL_RULES`; ``None`` means :data:`DEFAULT_LABEL_RULE` (``"quadrants"``).
        representation: ``"sequence"`` or ``"flat"`` (see :func:`eeg.features.featurize_trials`).
        subtract_baseline: Subtract each channel's mean over the 3 s baseline from the trial.

    Returns:
        The validated dataset; ``source`` is the folder.

    Raises:
        InputError: An unknown label rule or representation.
        DataError: No subject files, or a file that :func:`read_deap_file` refuses.
    """
    from eeg.features import featurize_trials

    rule_name, rule = _rule(label_rule)
    if representation not in REPRESENTATIONS:
        raise InputError(f"representation must be one of {', '.join(REPRESENTATIONS)}, got {representation!r}")
    folder, files = _deap_folder(Path(path))
    X_parts, y_parts, subject_parts, trial_parts = [], [], [], []
    for subject_id, file in files:  # one subject at a time: a subject is ~100 MB as float64
        signals, ratings = _trial_signals(file, subtract_baseline)
        try:
            X, source_trial = featurize_trials(signals, DEAP_FS, DEAP_CHANNELS, representation=representation)
        except InputError as exc:  # e.g. trials too short for one sequence: name the file that caused it
            raise DataError(f"{file}: {exc}") from None
        source_trial = np.asarray(source_trial, dtype=np.int64)
        X_parts.append(np.asarray(X, dtype=np.float32))
        y_parts.append(rule.classify(ratings)[source_trial])
        subject_parts.append(np.full(len(source_trial), subject_id, dtype=np.int64))
        trial_parts.append(source_trial)
    ds = EEGDataset(
        X=np.concatenate(X_parts),
        y=np.concatenate(y_parts),
        subject=np.concatenate(subject_parts),
        trial=np.concatenate(trial_parts),
        class_names=rule.class_names,
        source=f"deap({folder}, label_rule={rule_name})",
    )
    validate_dataset(ds, str(folder))
    return ds
