"""Classical baselines: logistic regression and an RBF-SVM on the same split as the deep model.

A CNN + LSTM is only worth tuning where it beats a simple model fitted in a second on the
same training data. Both baselines here are scikit-learn estimators on one feature vector
per sample: the mean of a sequence's windows (a 2-D table is used as it is), standardised
with training statistics. Their regularisation ``C`` is chosen on the validation split
only; the test split, when given, is scored once with the chosen model and never used to
choose anything.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from eeg.errors import DataError, InputError

__all__ = [
    "BASELINES",
    "C_GRID",
    "BaselineResult",
    "summary_features",
    "fit_baselines",
    "fit_baselines_on",
    "baseline_test_predictions",
    "fit_baselines_over_folds",
    "best_baseline",
    "baselines_line",
]

# Display name of each baseline, by key.
BASELINES: dict[str, str] = {"logistic_regression": "logistic regression", "rbf_svm": "RBF-SVM"}
# Inverse regularisation strengths tried on validation; ties go to the smaller C (the simpler model).
C_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0)
# An SVM's fit grows quadratically with samples: beyond this many training samples a stratified subsample is used.
MAX_TRAIN_SAMPLES = 10_000


@dataclass(frozen=True)
class BaselineResult:
    """One fitted baseline.

    Attributes:
        key: ``"logistic_regression"`` or ``"rbf_svm"``.
        name: Display name, e.g. ``"RBF-SVM"``.
        C: The regularisation chosen on validation.
        val_accuracy: Validation accuracy of the chosen model (what chose it, so optimistic like a best trial's).
        test_accuracy: Test accuracy of the chosen model, or ``None`` when no test split was given.
        val_by_C: Validation accuracy for every ``C`` tried.
        fit_s: Seconds spent fitting all of them.
        n_train: Training samples the model was fitted on.
    """

    key: str
    name: str
    C: float
    val_accuracy: float
    test_accuracy: float | None
    val_by_C: dict[float, float]
    fit_s: float
    n_train: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``val_by_C`` keyed by the text of C)."""
        values = asdict(self)
        values["val_by_C"] = {repr(c): acc for c, acc in self.val_by_C.items()}
        return values


def summary_features(X: np.ndarray) -> np.ndarray:
    """One vector per sample: the mean over windows of a ``(n, steps, F)`` array; a ``(n, F)`` one as it is."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 3:
        return X.mean(axis=1)
    if X.ndim == 2:
        return X
    raise DataError(f"summary_features: X must be (n, F) or (n, steps, F), got shape {X.shape}")


def _estimator(key: str, C: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if key == "logistic_regression":
        model = LogisticRegression(C=C, max_iter=2000)
    else:
        model = SVC(C=C, kernel="rbf", gamma="scale", random_state=seed)
    return make_pipeline(StandardScaler(), model)


def _subsample(X: np.ndarray, y: np.ndarray, limit: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if len(y) <= limit:
        return X, y
    from sklearn.model_selection import train_test_split

    X_small, _, y_small, _ = train_test_split(X, y, train_size=limit, stratify=y, random_state=seed)
    return X_small, y_small


def fit_baselines(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    *,
    keys: Sequence[str] = tuple(BASELINES),
    grid: Sequence[float] = C_GRID,
    seed: int = 0,
) -> list[BaselineResult]:
    """Fit each baseline on train for every C, keep the C with the best validation accuracy, score it on test.

    Args:
        X_train, y_train: What the models are fitted on.
        X_val, y_val: What chooses C (and nothing else).
        X_test, y_test: Scored once with each chosen model; never used to choose.
        keys: Which of :data:`BASELINES` to fit.
        grid: The values of C to try.
        seed: Seed of the SVM and of the subsample beyond :data:`MAX_TRAIN_SAMPLES`.

    Returns:
        One :class:`BaselineResult` per key, in the order given.

    Raises:
        InputError: An unknown key or an empty grid.
        DataError: Train or validation is empty, or train holds a single class.
    """
    unknown = [k for k in keys if k not in BASELINES]
    if unknown or not grid:
        raise InputError(f"fit_baselines: keys must be among {', '.join(BASELINES)} and grid non-empty, got {unknown=}, {grid=}")
    y_train, y_val = np.asarray(y_train).ravel(), np.asarray(y_val).ravel()
    if len(y_train) == 0 or len(y_val) == 0:
        raise DataError(f"fit_baselines: needs training and validation samples, got {len(y_train)} and {len(y_val)}")
    if len(np.unique(y_train)) < 2:
        raise DataError(f"fit_baselines: the training split holds one class only ({np.unique(y_train).tolist()})")
    F_train, F_val = summary_features(X_train), summary_features(X_val)
    F_train, y_fit = _subsample(F_train, y_train, MAX_TRAIN_SAMPLES, seed)
    F_test = None if X_test is None or y_test is None or len(y_test) == 0 else summary_features(X_test)
    # One BLAS thread: these fits take a fraction of a second alone, but tens of seconds when their
    # threads compete with each other and with TensorFlow or Ray workers for a few cores.
    with threadpool_limits(1):
        return [_fit_one(key, F_train, y_fit, F_val, y_val, F_test, y_test, grid, seed) for key in keys]


def _fit_one(
    key: str,
    F_train: np.ndarray,
    y_fit: np.ndarray,
    F_val: np.ndarray,
    y_val: np.ndarray,
    F_test: np.ndarray | None,
    y_test: np.ndarray | None,
    grid: Sequence[float],
    seed: int,
) -> BaselineResult:
    """One baseline: a model per C fitted on train, the best on validation kept and scored on test."""
    started = time.perf_counter()
    scores, models = {}, {}
    for C in grid:
        models[float(C)] = _estimator(key, float(C), seed).fit(F_train, y_fit)
        scores[float(C)] = float(np.mean(models[float(C)].predict(F_val) == y_val))
    chosen = max(scores, key=lambda c: (scores[c], -c))  # best on validation; ties: the smaller C
    test = None if F_test is None else float(np.mean(models[chosen].predict(F_test) == np.asarray(y_test).ravel()))
    return BaselineResult(key=key, name=BASELINES[key], C=chosen, val_accuracy=scores[chosen], test_accuracy=test,
                          val_by_C=scores, fit_s=round(time.perf_counter() - started, 3), n_train=len(y_fit))


def baseline_test_predictions(prepared: Any, result: BaselineResult, *, seed: int = 0) -> np.ndarray:
    """The test predictions of ``result``'s model (refitted with its chosen C, as :func:`fit_baselines` fitted it),
    for paired comparisons per test recording."""
    F_train, y_fit = _subsample(summary_features(prepared.X_train), np.asarray(prepared.y_train).ravel(),
                                MAX_TRAIN_SAMPLES, seed)
    with threadpool_limits(1):
        model = _estimator(result.key, result.C, seed).fit(F_train, y_fit)
        return model.predict(summary_features(prepared.X_test))


def fit_baselines_on(prepared: Any, *, with_test: bool, seed: int = 0) -> list[BaselineResult]:
    """:func:`fit_baselines` on an :class:`eeg.training.PreparedData`; ``with_test=False`` never reads its test split."""
    test = (prepared.X_test, prepared.y_test) if with_test else (None, None)
    return fit_baselines(prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val, *test, seed=seed)


def fit_baselines_over_folds(folds: Sequence[Any], *, seed: int = 0) -> list[BaselineResult]:
    """Each baseline scored as a ``--cv K`` trial is: mean validation accuracy over the folds, C chosen on that mean.

    ``folds`` are :class:`eeg.training.PreparedData` without a test split; ``test_accuracy`` stays None.
    """
    per_fold = [fit_baselines_on(fold, with_test=False, seed=seed) for fold in folds]
    results = []
    for runs in zip(*per_fold):  # the same baseline on every fold
        first = runs[0]
        mean_by_C = {C: float(np.mean([run.val_by_C[C] for run in runs])) for C in first.val_by_C}
        chosen = max(mean_by_C, key=lambda c: (mean_by_C[c], -c))  # as one fold's: ties go to the smaller C
        results.append(BaselineResult(key=first.key, name=first.name, C=chosen, val_accuracy=mean_by_C[chosen],
                                      test_accuracy=None, val_by_C=mean_by_C,
                                      fit_s=round(sum(run.fit_s for run in runs), 3), n_train=first.n_train))
    return results


def best_baseline(results: Sequence[BaselineResult], *, on: str = "test") -> BaselineResult:
    """The baseline with the highest ``on`` (``"test"`` or ``"val"``) accuracy."""
    if not results:
        raise InputError("best_baseline: no baselines given")
    if on not in ("test", "val"):
        raise InputError(f"best_baseline: on must be 'test' or 'val', got {on!r}")
    return max(results, key=lambda r: (r.test_accuracy if on == "test" else r.val_accuracy) or 0.0)


def baselines_line(results: Sequence[BaselineResult], *, on: str = "test", where: str = "the same test split") -> str:
    """``"Classical baselines on the same test split: logistic regression 78.3% (C=0.1), RBF-SVM 80.0% (C=10)"``."""
    parts = []
    for r in results:
        value = r.test_accuracy if on == "test" else r.val_accuracy
        parts.append(f"{r.name} {value:.1%} (C={r.C:g})")
    return f"Classical baselines on {where}: {', '.join(parts)}"
