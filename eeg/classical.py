"""The classical model families a pipeline trial may choose instead of the CNN + LSTM (scikit-learn).

Both see one vector per sequence, the mean of its windows' features (:func:`eeg.baselines.summary_features`, the
same input as the fixed baselines), standardised with the training side's statistics.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from eeg.baselines import summary_features
from eeg.errors import InputError

__all__ = ["CLASSICAL_FAMILIES", "fit_classical"]

CLASSICAL_FAMILIES: tuple[str, ...] = ("svm", "logreg")


def _estimator(family: str, params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if family == "svm":
        model = SVC(C=float(params["svm_C"]), gamma=float(params["svm_gamma"]), kernel="rbf", random_state=seed)
    elif family == "logreg":
        model = LogisticRegression(C=float(params["logreg_C"]), max_iter=2000)
    else:
        raise InputError(f"model_family={family!r} is not one of {', '.join(CLASSICAL_FAMILIES)}")
    return make_pipeline(StandardScaler(), model)


def fit_classical(family: str, params: Mapping[str, Any], X_train: np.ndarray, y_train: np.ndarray,
                  X_eval: np.ndarray, y_eval: np.ndarray, *, seed: int = 0) -> tuple[Any, float, float]:
    """Fit ``family`` with its knobs in ``params`` on the training side; ``(model, eval accuracy, fit seconds)``."""
    started = time.perf_counter()
    model = _estimator(family, params, seed).fit(summary_features(X_train), y_train)
    accuracy = float(np.mean(model.predict(summary_features(X_eval)) == np.asarray(y_eval)))
    return model, accuracy, time.perf_counter() - started
