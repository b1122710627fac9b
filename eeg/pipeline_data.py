"""What a pipeline trial receives: the tuning recordings (never the test ones) and which side each one is on.

The network-only path splits windows that are already cut. A pipeline trial cuts its own windows, so the split is
kept per recording, ``(subject, trial)``: it is taken from the experiment's split of the default features (the
same test split every command holds out) and applied to whatever windows a trial's preprocessing makes. The test
recordings are dropped before anything is handed to Ray.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from eeg.errors import InputError
from eeg.feature_cache import cached_features, recordings_fingerprint
from eeg.pipeline import Preprocessing, check_preprocessing, fit_to_recordings
from eeg.splits import Split
from eeg.training import PreparedData, prepare_data

__all__ = ["TuningRecordings", "tuning_recordings", "recording_sides", "check_space_values"]


def recording_sides(subject: np.ndarray, trial: np.ndarray, split: Split) -> dict[str, set[tuple[int, int]]]:
    """``{"train": {(subject, trial), ...}, "val": ..., "test": ...}`` of a split of windowed samples."""
    pairs = list(zip(np.asarray(subject).tolist(), np.asarray(trial).tolist()))
    return {side: {pairs[i] for i in getattr(split, side)} for side in ("train", "val", "test")}


@dataclass(frozen=True)
class TuningRecordings:
    """The raw recordings of the train and validation sides, their sides, and their content fingerprint."""

    raw: Any  # eeg.synthetic.RawEEG (or the same fields), test recordings removed
    train: frozenset[tuple[int, int]]
    val: frozenset[tuple[int, int]]
    strategy: str
    fingerprint: str

    @property
    def shortest_samples(self) -> int:
        return min(int(np.shape(s)[-1]) for s in self.raw.signals)

    def fitted(self, prep: Preprocessing) -> Preprocessing:
        """``prep`` with ``n_steps`` cut to what the shortest recording holds (:func:`eeg.pipeline.fit_to_recordings`)."""
        return fit_to_recordings(prep, self.raw.fs, self.shortest_samples)

    def prepared(self, prep: Preprocessing, *, cache_dir: str | None = None) -> tuple[PreparedData, bool]:
        """Features for ``prep`` (cached per node), cut along the recording sides and standardised on train."""
        dataset, cached = cached_features(self.raw, prep, cache_dir=cache_dir, fingerprint=self.fingerprint)
        pairs = list(zip(dataset.subject.tolist(), dataset.trial.tolist()))
        train = np.array([i for i, p in enumerate(pairs) if p in self.train], np.int64)
        val = np.array([i for i, p in enumerate(pairs) if p in self.val], np.int64)
        split = Split(train=train, val=val, test=np.zeros(0, np.int64), strategy=self.strategy)
        return prepare_data(dataset, split), cached


def tuning_recordings(raw: Any, subject: np.ndarray, trial: np.ndarray, split: Split) -> TuningRecordings:
    """The recordings a pipeline search may see, from the raw data and the experiment's split of its windows."""
    sides = recording_sides(subject, trial, split)
    keep = [i for i, pair in enumerate(zip(np.asarray(raw.subject).tolist(), np.asarray(raw.trial).tolist()))
            if pair in sides["train"] or pair in sides["val"]]
    kept = replace(raw, signals=raw.signals[keep], labels=raw.labels[keep], subject=raw.subject[keep],
                   trial=raw.trial[keep])
    return TuningRecordings(raw=kept, train=frozenset(sides["train"]), val=frozenset(sides["val"]),
                            strategy=split.strategy, fingerprint=recordings_fingerprint(kept))


def check_space_values(space: Any, recordings: TuningRecordings) -> None:
    """Refuse, before any trial, a preprocessing value of ``space`` that no combination can use on this data.

    Each value is checked with the other preprocessing parameters at their most lenient choices (shortest window,
    most overlap, fewest windows per sequence), so a value is refused only when no trial could ever run it.
    """
    def choices(name: str, default: Any) -> tuple[Any, ...]:
        return tuple(space[name].choices) if name in space else (default,)

    base = Preprocessing()
    lenient = {"window_s": min(choices("window_s", base.window_s)),
               "overlap": max(choices("overlap", base.overlap)),
               "n_steps": min(choices("n_steps", base.n_steps))}
    where = space.where
    for name in ("feature_set", "band_preset", "subject_norm", "window_s", "overlap", "n_steps"):
        for value in choices(name, getattr(base, name)):
            check_preprocessing(replace(base, **{**lenient, name: value}), recordings.raw.fs,
                                recordings.shortest_samples, where)
