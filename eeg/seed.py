"""Load the SEED data set (SJTU) as an :class:`~eeg.dataset.EEGDataset`.

SEED (Zheng & Lu, 2015) is licensed: request it from BCMI, SJTU; nothing here downloads it. 15 subjects each
watched 15 film clips (negative, neutral, positive) in several sessions on different days. Two folders of the
release are understood, both with one ``<subject>_<date>.mat`` file per session (e.g. ``1_20131027.mat``)
and a ``label.mat`` whose ``label`` is ``(1, 15)`` in ``{-1, 0, 1}`` -> classes 0, 1, 2
(:data:`SEED_CLASSES`):

``ExtractedFeatures/``
    Keys ``de_LDS1`` .. ``de_LDS15``, each ``(62 channels, W windows, 5 bands)`` of differential entropy
    (smoothed by a linear dynamical system) over 1 s windows. A window's features are its 62 x 5 values,
    flattened channel-major (``channel * 5 + band``); ``"sequence"`` groups consecutive windows with
    :func:`eeg.features.to_sequences`.
``Preprocessed_EEG/``
    Keys ``<initials>_eeg1`` .. ``<initials>_eeg15``, each ``(62, n_samples)`` at 200 Hz (lengths differ by
    clip), featurized with :func:`eeg.features.featurize_trials`.

The path may be either folder or the SEED root holding them; when the root holds both, ``ExtractedFeatures``
wins (it is small and needs no signal processing). A folder's kind is recognised by its files' keys.

Subject ids are the number before the underscore. A subject's sessions are ordered by date, and the trial id
is ``session_index * 15 + clip`` (clip 0..14), so trials stay unique within a subject across sessions.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from eeg.dataset import REPRESENTATIONS, EEGDataset, validate_dataset
from eeg.errors import DataError, InputError

__all__ = ["SEED_CHANNELS", "SEED_CLASSES", "SEED_FS", "load_seed"]

SEED_FS = 200
N_CLIPS = 15
N_BANDS = 5
SEED_CLASSES: tuple[str, ...] = ("negative", "neutral", "positive")
# SEED's 62 channels in file order. SEED writes them upper-case (FP1, FPZ, FCZ, ...); they are spelled here the
# 10-20 way, as eeg.features.FRONTAL_PAIRS are (it matches case-insensitively, so the asymmetry pairs are found).
SEED_CHANNELS: tuple[str, ...] = (
    "Fp1", "Fpz", "Fp2", "AF3", "AF4", "F7", "F5", "F3", "F1", "Fz", "F2", "F4", "F6", "F8",
    "FT7", "FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6", "FT8",
    "T7", "C5", "C3", "C1", "Cz", "C2", "C4", "C6", "T8",
    "TP7", "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6", "TP8",
    "P7", "P5", "P3", "P1", "Pz", "P2", "P4", "P6", "P8",
    "PO7", "PO5", "PO3", "POz", "PO4", "PO6", "PO8", "CB1", "O1", "Oz", "O2", "CB2",
)  # fmt: skip
# Same grouping as eeg.features.featurize_trials' defaults, so both SEED folders give alike sequences.
SEQUENCE_STEPS, SEQUENCE_STRIDE = 8, 4
FEATURES_DIR, RAW_DIR, LABEL_FILE = "ExtractedFeatures", "Preprocessed_EEG", "label.mat"
_SESSION_FILE = re.compile(r"^(\d+)_(\d+)\.mat$")
_DE_KEY = re.compile(r"^de_LDS(\d+)$")
_RAW_KEY = re.compile(r"^.+_eeg(\d+)$")


def _loadmat(path: Path, variables: list[str] | None = None) -> dict[str, Any]:
    from scipy.io import loadmat

    try:
        return loadmat(path, variable_names=variables)
    except Exception as exc:  # scipy raises many types (and NotImplementedError for v7.3/HDF5 files)
        raise DataError(f"{path}: cannot read as .mat: {type(exc).__name__}: {exc}") from None


def _whosmat(path: Path) -> list[str]:
    from scipy.io import whosmat

    try:
        return [name for name, _, _ in whosmat(path)]
    except Exception as exc:
        raise DataError(f"{path}: cannot read as .mat: {type(exc).__name__}: {exc}") from None


def _read_labels(folder: Path) -> np.ndarray:
    path = folder / LABEL_FILE
    if not path.is_file():
        raise DataError(f"{path}: no such file (SEED's clip labels)")
    content = _loadmat(path)
    if "label" not in content:
        found = sorted(k for k in content if not k.startswith("__"))
        raise DataError(f"{path}: needs a 'label' variable, found {found}")
    labels = np.asarray(content["label"]).reshape(-1)
    if labels.size != N_CLIPS or not np.issubdtype(labels.dtype, np.number):
        shape = np.shape(content["label"])
        raise DataError(f"{path}: 'label' must be {N_CLIPS} numbers in {{-1, 0, 1}}, got shape {shape}")
    bad = ~np.isin(labels, (-1, 0, 1))
    if bad.any():
        value, clip = labels[bad][0].item(), int(np.argmax(bad)) + 1
        raise DataError(f"{path}: labels must be in {{-1, 0, 1}}, got {value!r} for clip {clip}")
    return labels.astype(np.int64) + 1  # -1/0/1 -> negative/neutral/positive = 0/1/2


def _sessions(folder: Path) -> list[tuple[int, int, Path]]:
    """``(subject, session_index, path)`` for every session file, sessions ordered by date within a subject."""
    found = sorted((int(m.group(1)), m.group(2), p) for p in folder.iterdir() if (m := _SESSION_FILE.match(p.name)))
    sessions, seen = [], {}
    for subject, _, path in found:
        seen[subject] = seen.get(subject, -1) + 1
        sessions.append((subject, seen[subject], path))
    return sessions


def _folder_kind(folder: Path, first: Path) -> str:
    names = _whosmat(first)
    if any(_DE_KEY.match(n) for n in names):
        return "features"
    if any(_RAW_KEY.match(n) for n in names):
        return "raw"
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    raise DataError(f"{first}: expected SEED keys de_LDS1..de_LDS15 or <initials>_eeg1..15, found [{shown}]")


def _resolve(path: Path) -> Path:
    if path.is_file():
        raise DataError(f"{path}: SEED needs a folder ({FEATURES_DIR}/, {RAW_DIR}/ or their parent), got a file")
    for name in (FEATURES_DIR, RAW_DIR):  # ExtractedFeatures first: small and already featurized
        if (path / name).is_dir():
            return path / name
    return path


def _clips(content: dict[str, Any], pattern: re.Pattern[str], where: Path) -> dict[int, np.ndarray]:
    """Clip index (0-based) -> array, for the keys matching ``pattern``."""
    clips = {int(m.group(1)) - 1: np.asarray(v) for k, v in content.items() if (m := pattern.match(k))}
    bad = [c + 1 for c in clips if not 0 <= c < N_CLIPS]
    if bad:
        raise DataError(f"{where}: clip numbers must be 1..{N_CLIPS}, got {bad[0]}")
    if not clips:
        raise DataError(f"{where}: no clip arrays found")
    return dict(sorted(clips.items()))


def _session_features(path: Path, representation: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, clip)`` from an ExtractedFeatures session file."""
    from eeg.features import to_sequences

    X_parts, clip_parts = [], []
    for clip, de in _clips(_loadmat(path), _DE_KEY, path).items():
        if de.ndim != 3 or de.shape[0] != len(SEED_CHANNELS) or de.shape[2] != N_BANDS:
            raise DataError(
                f"{path}: de_LDS{clip + 1} must be ({len(SEED_CHANNELS)} channels, windows, {N_BANDS} bands), "
                f"got shape {de.shape}"
            )
        windows = np.transpose(de, (1, 0, 2)).reshape(de.shape[1], -1).astype(np.float32)  # channel-major
        if representation == "sequence":
            windows = np.asarray(to_sequences(windows, SEQUENCE_STEPS, SEQUENCE_STRIDE), dtype=np.float32)
        X_parts.append(windows)
        clip_parts.append(np.full(len(windows), clip, dtype=np.int64))
    return np.concatenate(X_parts), np.concatenate(clip_parts)


def _session_raw(path: Path, representation: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, clip)`` from a Preprocessed_EEG session file."""
    from eeg.features import featurize_trials

    clips = _clips(_loadmat(path), _RAW_KEY, path)
    for clip, signal in clips.items():
        if signal.ndim != 2 or signal.shape[0] != len(SEED_CHANNELS):
            raise DataError(
                f"{path}: clip {clip + 1} must be ({len(SEED_CHANNELS)} channels, samples), got shape {signal.shape}"
            )
    order = list(clips)
    signals = [clips[c].astype(np.float32) for c in order]  # lengths differ by clip
    try:
        X, source = featurize_trials(signals, SEED_FS, SEED_CHANNELS, representation=representation)
    except InputError as exc:  # e.g. a clip shorter than one window: name the file that caused it
        raise DataError(f"{path}: {exc}") from None
    return np.asarray(X, dtype=np.float32), np.asarray(order, dtype=np.int64)[np.asarray(source, dtype=np.int64)]


def load_seed(path: str | Path, *, representation: str = "sequence") -> EEGDataset:
    """Load SEED from its ``ExtractedFeatures`` or ``Preprocessed_EEG`` folder (or the root holding them).

    Args:
        path: The SEED root or one of its two folders.
        representation: ``"sequence"`` (``(n, n_steps, F)``) or ``"flat"`` (one row per window).

    Returns:
        The validated dataset with classes :data:`SEED_CLASSES`; ``source`` names the folder read.

    Raises:
        InputError: An unknown representation.
        DataError: No session files, an unreadable ``.mat``, missing ``label.mat``, unexpected keys or shapes.
    """
    if representation not in REPRESENTATIONS:
        raise InputError(f"representation must be one of {', '.join(REPRESENTATIONS)}, got {representation!r}")
    folder = _resolve(Path(path))
    sessions = _sessions(folder)
    if not sessions:
        raise DataError(f"{folder}: no SEED session files (<subject>_<date>.mat, e.g. 1_20131027.mat) found")
    kind = _folder_kind(folder, sessions[0][2])
    labels = _read_labels(folder)
    read = _session_features if kind == "features" else _session_raw
    X_parts, y_parts, subject_parts, trial_parts = [], [], [], []
    for subject, session_index, file in sessions:  # one session at a time: a raw session is ~350 MB
        X, clip = read(file, representation)
        X_parts.append(X)
        y_parts.append(labels[clip])
        subject_parts.append(np.full(len(clip), subject, dtype=np.int64))
        trial_parts.append(session_index * N_CLIPS + clip)
    ds = EEGDataset(
        X=np.concatenate(X_parts),
        y=np.concatenate(y_parts),
        subject=np.concatenate(subject_parts),
        trial=np.concatenate(trial_parts),
        class_names=SEED_CLASSES,
        source=f"seed({folder}, {FEATURES_DIR if kind == 'features' else RAW_DIR})",
    )
    validate_dataset(ds, str(folder))
    return ds
