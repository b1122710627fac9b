"""Features computed once per preprocessing configuration per node, kept on disk under a content key.

The key is a SHA-256 of the recordings (signals, labels, ids, rate, channel names), the preprocessing parameters
and :data:`FORMAT`, so the same data and parameters find the same file on every run and any change misses.
Each entry is one ``.npz`` written to a temporary file in the cache folder and moved into place with
``os.replace``: two trials that ask at once both compute, one file wins whole, and no reader ever sees half a
file. A file that cannot be read (a disk that filled up mid-write on another system) is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from eeg.dataset import EEGDataset
from eeg.pipeline import Preprocessing, featurize_recordings

__all__ = ["FORMAT", "default_cache_dir", "recordings_fingerprint", "cache_key", "cached_features"]

FORMAT = "features-v1"  # bump when eeg.features or eeg.pipeline change what a configuration computes


def default_cache_dir() -> Path:
    """``$EEG_FEATURE_CACHE``, else ``$XDG_CACHE_HOME/eeg_emotion_tuning/features`` (``~/.cache`` by default).

    A node-local folder: every trial on a node shares it, and nothing crosses the network.
    """
    if os.environ.get("EEG_FEATURE_CACHE"):
        return Path(os.environ["EEG_FEATURE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "eeg_emotion_tuning" / "features"


def recordings_fingerprint(raw: Any) -> str:
    """SHA-256 of everything in ``raw`` that features depend on (about 0.1 s per 100 MB of signals)."""
    digest = hashlib.sha256()
    for signal in raw.signals:
        digest.update(np.ascontiguousarray(signal).view(np.uint8))
    for name in ("labels", "subject", "trial"):
        digest.update(np.ascontiguousarray(np.asarray(getattr(raw, name), np.int64)).view(np.uint8))
    digest.update(json.dumps([float(raw.fs), list(raw.channel_names), list(raw.class_names)]).encode())
    return digest.hexdigest()


def cache_key(fingerprint: str, prep: Preprocessing) -> str:
    text = json.dumps({"format": FORMAT, "data": fingerprint, "preprocessing": prep.as_dict()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_features(raw: Any, prep: Preprocessing, *, cache_dir: str | os.PathLike[str] | None = None,
                    fingerprint: str | None = None) -> tuple[EEGDataset, bool]:
    """The features ``prep`` makes of ``raw``, from the cache when present; ``(dataset, was_cached)``.

    Args:
        raw: The recordings (see :func:`eeg.pipeline.featurize_recordings`).
        prep: The preprocessing.
        cache_dir: The cache folder; :func:`default_cache_dir` when ``None``.
        fingerprint: :func:`recordings_fingerprint` of ``raw``, when the caller computed it once already.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{cache_key(fingerprint or recordings_fingerprint(raw), prep)}.npz"
    if path.exists():
        try:
            with np.load(path) as stored:
                return EEGDataset(X=stored["X"], y=stored["y"], subject=stored["subject"], trial=stored["trial"],
                                  class_names=tuple(raw.class_names), source="pipeline features"), True
        except (OSError, ValueError, KeyError):
            pass  # unreadable: compute again, and the write below replaces it
    dataset = featurize_recordings(raw, prep)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".writing-", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, X=dataset.X, y=dataset.y, subject=dataset.subject, trial=dataset.trial)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return dataset, False
