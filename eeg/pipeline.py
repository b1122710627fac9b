"""The EEG preprocessing a pipeline trial chooses: features, bands, windows, sequences, per-subject standardisation.

A :class:`Preprocessing` turns raw recordings (:class:`eeg.synthetic.RawEEG`, or any object with ``signals``,
``labels``, ``subject``, ``trial``, ``fs``, ``channel_names`` and ``class_names``) into the same
:class:`eeg.dataset.EEGDataset` the network-only path trains on. Its defaults are that path's fixed choices (all
three feature blocks, the classic five bands, 2 s windows every 1 s, 8 windows a sequence), so the default
configuration of ``--space pipeline`` is the seed's model on the seed's features.

Per-subject standardisation z-scores each subject's features with that subject's own mean and spread over all of
its recordings, labels unused. For a validation or test subject that is transductive: it needs the subject's
unlabelled recordings before predicting (as cross-subject EEG work does, e.g. Zheng & Lu 2015).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from eeg.dataset import EEGDataset
from eeg.errors import InputError
from eeg.features import BANDS, featurize_trials

__all__ = ["FEATURE_SETS", "BAND_PRESETS", "SUBJECT_NORMS", "Preprocessing", "featurize_recordings",
           "check_preprocessing", "fit_to_recordings"]

# Feature set name -> the blocks of eeg.features.FEATURE_KINDS it holds.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "all": ("power", "de", "asym"),
    "de": ("de",),
    "band_power": ("power",),
    "asymmetry": ("asym",),
    "de+asymmetry": ("de", "asym"),
    "de+band_power": ("power", "de"),
}

# The classic five bands, and a finer split of alpha, beta and gamma (sub-bands used in DEAP/SEED work).
BAND_PRESETS: dict[str, dict[str, tuple[float, float]]] = {
    "classic": dict(BANDS),
    "fine": {
        "delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha_low": (8.0, 10.0), "alpha_high": (10.0, 13.0),
        "beta_low": (13.0, 20.0), "beta_high": (20.0, 30.0), "gamma_low": (30.0, 38.0), "gamma_high": (38.0, 45.0),
    },
}

SUBJECT_NORMS: tuple[str, ...] = ("off", "per_subject")


@dataclass(frozen=True)
class Preprocessing:
    """One preprocessing configuration; the defaults are the network-only path's fixed choices.

    Attributes:
        feature_set: A key of :data:`FEATURE_SETS`.
        band_preset: A key of :data:`BAND_PRESETS`.
        window_s: Window length in seconds.
        overlap: Fraction of a window shared with the next one, in ``[0, 1)``; the hop is ``window_s * (1 - overlap)``.
        n_steps: Windows per sequence; consecutive sequences share half their windows.
        subject_norm: A value of :data:`SUBJECT_NORMS`.
    """

    feature_set: str = "all"
    band_preset: str = "classic"
    window_s: float = 2.0
    overlap: float = 0.5
    n_steps: int = 8
    subject_norm: str = "off"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Preprocessing:
        """The preprocessing keys of a trial's config; keys it does not name keep their defaults."""
        names = cls.__dataclass_fields__
        return cls(**{name: config[name] for name in names if name in config})

    @property
    def step_s(self) -> float:
        return self.window_s * (1.0 - self.overlap)

    @property
    def sequence_s(self) -> float:
        """Seconds of recording one sequence spans."""
        return self.window_s + (self.n_steps - 1) * self.step_s

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_preprocessing(prep: Preprocessing, fs: float, shortest_samples: int, where: str) -> None:
    """Refuse a preprocessing the data cannot support, naming the parameter, its value and the limit.

    Raises:
        InputError: An unknown feature set, band preset or standardisation; an overlap outside ``[0, 1)``; a band
            edge at or above the Nyquist frequency; a window longer than the shortest recording; more windows per
            sequence than the shortest recording holds.
    """
    for name, value, known in (("feature_set", prep.feature_set, FEATURE_SETS),
                               ("band_preset", prep.band_preset, BAND_PRESETS),
                               ("subject_norm", prep.subject_norm, SUBJECT_NORMS)):
        if value not in known:
            raise InputError(f"{where}: {name}={value!r} is not one of {', '.join(known)}")
    if not 0.0 <= prep.overlap < 1.0:
        raise InputError(f"{where}: overlap={prep.overlap!r} must be in [0, 1)")
    if not prep.window_s > 0 or not isinstance(prep.n_steps, (int, np.integer)) or prep.n_steps < 1:
        raise InputError(f"{where}: window_s must be > 0 and n_steps an integer >= 1, got "
                         f"window_s={prep.window_s!r}, n_steps={prep.n_steps!r}")
    nyquist = fs / 2.0
    top = max(hi for _, hi in BAND_PRESETS[prep.band_preset].values())
    if top >= nyquist:
        raise InputError(f"{where}: band_preset={prep.band_preset!r} has a band edge at {top:g} Hz, at or above the "
                         f"Nyquist frequency {nyquist:g} Hz of data sampled at {fs:g} Hz")
    shortest_s = shortest_samples / fs
    if prep.window_s * fs > shortest_samples:
        raise InputError(f"{where}: window_s={prep.window_s:g} is longer than the shortest recording "
                         f"({shortest_s:g} s)")
    if prep.sequence_s > shortest_s + 1e-9:
        most = 1 + int((shortest_s - prep.window_s) // prep.step_s) if prep.step_s > 0 else 1
        raise InputError(f"{where}: n_steps={prep.n_steps} windows of {prep.window_s:g} s every {prep.step_s:g} s "
                         f"span {prep.sequence_s:g} s; the shortest recording ({shortest_s:g} s) holds at most {most}")


def fit_to_recordings(prep: Preprocessing, fs: float, shortest_samples: int) -> Preprocessing:
    """``prep`` with ``n_steps`` cut to the most windows the shortest recording holds (at least 1).

    A search space combines its values freely; long windows without overlap and many windows a sequence may not
    fit a short recording together, though each value fits with others.
    """
    shortest_s = shortest_samples / fs
    most = 1 + int((shortest_s - prep.window_s) / prep.step_s + 1e-9) if prep.window_s <= shortest_s else 1
    return replace(prep, n_steps=max(1, min(int(prep.n_steps), most)))


def featurize_recordings(raw: Any, prep: Preprocessing) -> EEGDataset:
    """The dataset ``prep`` makes of ``raw``: one ``(n_steps, F)`` sequence per sample, provenance kept per sample.

    Raises:
        InputError: As :func:`check_preprocessing` (checked first, before any feature is computed).
    """
    check_preprocessing(prep, raw.fs, min(int(np.shape(s)[-1]) for s in raw.signals), "pipeline preprocessing")
    X, source = featurize_trials(
        raw.signals, raw.fs, raw.channel_names, representation="sequence", n_steps=int(prep.n_steps),
        stride=max(1, int(prep.n_steps) // 2), window_s=float(prep.window_s), step_s=prep.step_s,
        bands=BAND_PRESETS[prep.band_preset], kinds=FEATURE_SETS[prep.feature_set],
    )
    subject = np.asarray(raw.subject, np.int64)[source]
    if prep.subject_norm == "per_subject":
        X = _standardise_per_subject(X, subject)
    return EEGDataset(X=X.astype(np.float32, copy=False), y=np.asarray(raw.labels, np.int64)[source],
                      subject=subject, trial=np.asarray(raw.trial, np.int64)[source],
                      class_names=tuple(raw.class_names), source="pipeline features")


def _standardise_per_subject(X: np.ndarray, subject: np.ndarray) -> np.ndarray:
    out = np.empty_like(X, dtype=np.float32)
    for s in np.unique(subject):
        rows = subject == s
        flat = X[rows].reshape(-1, X.shape[-1]).astype(np.float64)
        mean, std = flat.mean(axis=0), flat.std(axis=0)
        out[rows] = ((X[rows] - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)
    return out
