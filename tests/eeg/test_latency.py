"""Prediction cost (``eeg.latency``): a median latency per sequence, and the size of a classical model."""

from __future__ import annotations

import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from eeg.latency import median_latency_ms, sklearn_latency_ms, sklearn_parameter_count


def test_the_latency_is_the_median_of_single_calls_after_warm_up():
    calls = []

    def predict_one():
        calls.append(1)
        time.sleep(0.002 if len(calls) > 3 else 0.05)  # slow warm-up calls are not counted

    latency = median_latency_ms(predict_one, repeats=9, warmup=3)
    assert len(calls) == 12 and 1.5 < latency < 20


def test_a_classical_models_size_counts_what_it_predicts_with():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 7)), np.repeat([0, 1, 2], 20)
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    assert sklearn_parameter_count(linear) == 7 + 7 + 3 * 7 + 3  # scaler mean and scale, coefficients, intercepts
    svm = make_pipeline(StandardScaler(), SVC()).fit(X, y)
    n_support = len(svm[-1].support_vectors_)
    assert sklearn_parameter_count(svm) == 7 + 7 + n_support * 7 + svm[-1].dual_coef_.size + svm[-1].intercept_.size
    assert sklearn_latency_ms(linear, 7) > 0
