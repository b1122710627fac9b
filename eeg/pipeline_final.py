"""A pipeline configuration as a final model: its own features of every recording, its family fitted on the
training side, scored on validation and on the held-out test recordings, per recording.

Per-recording accuracy (the share of a recording's sequences classified right) is what lets two pipelines that cut
different windows be compared pairwise: the same test recordings, whatever their windows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eeg.feature_cache import cached_features
from eeg.pipeline import Preprocessing, fit_to_recordings
from eeg.splits import Split
from eeg.training import PreparedData, prepare_data

__all__ = ["PipelineScore", "DEFAULT_PIPELINE", "pipeline_data", "score_pipeline", "per_recording_accuracy"]

# The network-only path as a pipeline configuration: the seed's features and the seed's model.
DEFAULT_PIPELINE: dict[str, Any] = {**Preprocessing().as_dict(), "model_family": "cnn_lstm"}


@dataclass(frozen=True)
class PipelineScore:
    val_accuracy: float
    test_accuracy: float
    per_recording: dict[tuple[int, int], float] = field(repr=False)  # test recording -> share of sequences right
    epochs_run: int | None  # None for a classical family
    model: Any = field(repr=False, default=None)
    data: PreparedData | None = field(repr=False, default=None)


def per_recording_accuracy(subject: np.ndarray, trial: np.ndarray, correct: np.ndarray) -> dict[tuple[int, int], float]:
    pairs = list(zip(np.asarray(subject).tolist(), np.asarray(trial).tolist()))
    totals: dict[tuple[int, int], list[int]] = {}
    for pair, ok in zip(pairs, np.asarray(correct).tolist()):
        counts = totals.setdefault(pair, [0, 0])
        counts[0] += int(ok)
        counts[1] += 1
    return {pair: right / n for pair, (right, n) in totals.items()}


def pipeline_data(raw: Any, sides: Mapping[str, set], strategy: str, prep: Preprocessing, *,
                  cache_dir: str | None = None) -> tuple[PreparedData, np.ndarray, np.ndarray]:
    """``prep``'s features of all of ``raw`` cut along the recording ``sides`` (test included), standardised on
    train; with the subject and trial of each test sample."""
    shortest = min(int(np.shape(s)[-1]) for s in raw.signals)
    dataset, _ = cached_features(raw, fit_to_recordings(prep, raw.fs, shortest), cache_dir=cache_dir)
    pairs = list(zip(dataset.subject.tolist(), dataset.trial.tolist()))
    index = {side: np.array([i for i, p in enumerate(pairs) if p in sides[side]], np.int64)
             for side in ("train", "val", "test")}
    data = prepare_data(dataset, Split(index["train"], index["val"], index["test"], strategy))
    return data, dataset.subject[index["test"]], dataset.trial[index["test"]]


def score_pipeline(raw: Any, sides: Mapping[str, set], strategy: str, params: Mapping[str, Any], *, epochs: int,
                   patience: int | None, seed: int = 0, cache_dir: str | None = None) -> PipelineScore:
    """Fit the configuration ``params`` (a ``--space pipeline`` trial's hyperparameters) and score it.

    A CNN + LSTM trains up to ``epochs`` with early stopping on validation accuracy (``patience``) as ``train``
    does; a classical family is fitted once. Neither reads the test recordings until it is scored on them.
    """
    from eeg.classical import fit_classical

    prep = Preprocessing.from_config(params)
    family = str(params.get("model_family", "cnn_lstm"))
    data, test_subject, test_trial = pipeline_data(raw, sides, strategy, prep, cache_dir=cache_dir)
    if family == "cnn_lstm":
        from eeg.model import DEFAULT_HPARAMS, resolve_hparams
        from eeg.training import train_model

        hparams = resolve_hparams({k: v for k, v in params.items() if k in DEFAULT_HPARAMS})
        model, history = train_model(hparams, data, epochs=epochs, seed=seed, early_stopping_patience=patience)
        val_pred = np.argmax(model.predict(data.X_val, verbose=0), axis=1)
        test_pred = np.argmax(model.predict(data.X_test, verbose=0), axis=1)
        epochs_run: int | None = len(history.get("loss", []))
    else:
        model, _, _ = fit_classical(family, params, data.X_train, data.y_train, data.X_val, data.y_val, seed=seed)
        from eeg.baselines import summary_features

        val_pred = model.predict(summary_features(data.X_val))
        test_pred = model.predict(summary_features(data.X_test))
        epochs_run = None
    correct = test_pred == data.y_test
    return PipelineScore(val_accuracy=float(np.mean(val_pred == data.y_val)), test_accuracy=float(np.mean(correct)),
                         per_recording=per_recording_accuracy(test_subject, test_trial, correct),
                         epochs_run=epochs_run, model=model, data=data)
