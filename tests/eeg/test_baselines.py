"""Classical baselines: fitted on train, regularisation chosen on validation only, scored once on test."""

from __future__ import annotations

import numpy as np
import pytest

from eeg.baselines import (BASELINES, baselines_line, best_baseline, fit_baselines, fit_baselines_over_folds,
                           summary_features)
from eeg.errors import DataError, InputError


def _blobs(n: int, seed: int, steps: int | None = 4) -> tuple[np.ndarray, np.ndarray]:
    """Three classes, separable on their mean features, as sequences of noisy windows."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.eye(3, 6) * 2.0
    means = centres[y] + rng.normal(0, 0.6, (n, 6))
    if steps is None:
        return means, y
    return means[:, None, :] + rng.normal(0, 0.3, (n, steps, 6)), y


def test_both_baselines_beat_chance_on_separable_data_and_report_every_c_tried():
    X_train, y_train = _blobs(90, 0)
    X_val, y_val = _blobs(45, 1)
    X_test, y_test = _blobs(45, 2)
    results = fit_baselines(X_train, y_train, X_val, y_val, X_test, y_test, grid=(0.1, 1.0))
    assert [r.key for r in results] == list(BASELINES)
    for result in results:
        assert result.test_accuracy > 0.8 and result.val_accuracy > 0.8
        assert set(result.val_by_C) == {0.1, 1.0}


def test_c_is_the_best_on_validation_and_the_test_labels_never_change_the_choice():
    X_train, y_train = _blobs(60, 0)
    X_val, y_val = _blobs(30, 1)
    X_test, y_test = _blobs(30, 2)
    honest = fit_baselines(X_train, y_train, X_val, y_val, X_test, y_test)
    scrambled = fit_baselines(X_train, y_train, X_val, y_val, X_test, np.roll(y_test, 1))
    for a, b in zip(honest, scrambled):
        assert a.C == b.C and a.val_accuracy == b.val_accuracy  # chosen without the test labels
        best_val = max(a.val_by_C.values())
        assert a.val_by_C[a.C] == best_val and a.C == min(c for c, v in a.val_by_C.items() if v == best_val)
    assert any(a.test_accuracy != b.test_accuracy for a, b in zip(honest, scrambled))  # but scored on them


def test_without_a_test_split_only_validation_is_scored():
    X_train, y_train = _blobs(60, 0, steps=None)
    X_val, y_val = _blobs(30, 1, steps=None)
    results = fit_baselines(X_train, y_train, X_val, y_val)
    assert all(r.test_accuracy is None for r in results)
    assert "validation" in baselines_line(results, on="val", where="the same validation split")
    assert best_baseline(results, on="val").val_accuracy == max(r.val_accuracy for r in results)


def test_sequences_are_summarised_by_the_mean_of_their_windows():
    X = np.arange(24, dtype=float).reshape(2, 3, 4)
    assert np.allclose(summary_features(X), X.mean(axis=1))
    with pytest.raises(DataError, match="shape"):
        summary_features(np.zeros(3))


def test_bad_arguments_name_the_rule():
    X, y = _blobs(30, 0)
    with pytest.raises(InputError, match="keys must be among"):
        fit_baselines(X, y, X, y, keys=("random_forest",))
    with pytest.raises(DataError, match="one class only"):
        fit_baselines(X, np.zeros_like(y), X, y)


def test_over_folds_each_baseline_is_scored_like_a_cv_trial_mean_over_folds_and_c_chosen_on_the_mean():
    from eeg.training import PreparedData

    folds = []
    for seed in range(3):
        X_train, y_train = _blobs(60, seed)
        X_val, y_val = _blobs(30, 10 + seed)
        folds.append(PreparedData(X_train, y_train, X_val, y_val, None, None, n_classes=3, class_names=("a", "b", "c")))
    per_fold = [fit_baselines(f.X_train, f.y_train, f.X_val, f.y_val, grid=(0.01, 1.0)) for f in folds]
    pooled = fit_baselines_over_folds(folds)
    assert [r.key for r in pooled] == list(BASELINES) and all(r.test_accuracy is None for r in pooled)
    for position, result in enumerate(pooled):
        runs = [fold[position] for fold in per_fold]
        for C in (0.01, 1.0):
            assert result.val_by_C[C] == pytest.approx(np.mean([run.val_by_C[C] for run in runs]))
        assert result.val_accuracy == max(result.val_by_C.values()) == result.val_by_C[result.C]
