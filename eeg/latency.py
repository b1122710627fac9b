"""What a configuration costs at prediction time, for online emotion recognition: latency per sequence, size.

Latency is the median wall time of predicting one sequence at a time (batch of one, as a live player would),
after a few warm-up calls, on the threads the process runs with: one for a trial with the default
``--cpus-per-trial 1`` (TensorFlow's pools follow the trial's CPUs; scikit-learn predicts on one thread here).
It covers the model only; the features of a window come from the same code for every model family.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["median_latency_ms", "keras_latency_ms", "sklearn_latency_ms", "sklearn_parameter_count"]

REPEATS, WARMUP = 20, 3


def median_latency_ms(predict_one: Callable[[], Any], *, repeats: int = REPEATS, warmup: int = WARMUP) -> float:
    for _ in range(warmup):
        predict_one()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        predict_one()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def keras_latency_ms(model: Any, input_shape: tuple[int, ...]) -> float:
    """One sequence through the Keras model, called directly (no ``predict`` loop set-up per call)."""
    x = np.zeros((1, *input_shape), dtype=np.float32)
    return median_latency_ms(lambda: model(x, training=False))


def sklearn_latency_ms(model: Any, n_features: int) -> float:
    """One summary vector through a fitted scikit-learn pipeline, on one BLAS thread."""
    from threadpoolctl import threadpool_limits

    x = np.zeros((1, n_features), dtype=np.float64)
    with threadpool_limits(1):
        return median_latency_ms(lambda: model.predict(x))


def sklearn_parameter_count(model: Any) -> int:
    """Numbers a fitted scaler + SVC or logistic regression holds to predict (support vectors and dual
    coefficients for the SVM; coefficients and intercepts for the linear model; the scaler's mean and scale)."""
    count = 0
    for step in getattr(model, "steps", [(None, model)]):
        estimator = step[1]
        for name in ("mean_", "scale_", "support_vectors_", "dual_coef_", "intercept_", "coef_"):
            value = getattr(estimator, name, None)
            if value is not None and not (name == "coef_" and hasattr(estimator, "support_vectors_")):
                count += int(np.size(value))
    return count
