"""A surrogate of the real learning curves: (configuration, epoch) -> validation accuracy and epoch seconds.

HPOBench and YAHPO Gym replace expensive training by a regression model fitted on recorded runs; this does the
same for the curves :mod:`benchmarks.record_learning_curves` recorded. Two scikit-learn
``HistGradientBoostingRegressor`` models (they take the NaN of an inactive conditional parameter as it is):
one for ``val_accuracy`` from (hyperparameters, epoch), one for ``log(epoch_seconds)`` from (hyperparameters,
first epoch or not: the first one pays TensorFlow's tracing). Epoch-to-epoch noise, measured on the recorded
curves, is added back with a seeded generator, so a scheduler sees the jitter a real validation split has.

Its quality is its rank correlation on configurations it never saw (5 folds grouped by configuration).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

__all__ = ["Surrogate", "encode", "fit_surrogate"]


def encode(hparams: Mapping[str, Any], space: Any) -> list[float]:
    """One number per parameter of ``space``: log10 for log ranges, the index of a choice, NaN where inactive."""
    from search_spaces.space import Bool, Categorical, Float

    row = []
    for param in space:
        value = hparams.get(param.name)
        active = param.when is None or space.is_active(param.name, hparams)
        if value is None or not active or (isinstance(value, float) and math.isnan(value)):
            row.append(math.nan)
        elif isinstance(param, (Categorical, Bool)):
            row.append(float(list(param.choices).index(_plain(value))))
        elif isinstance(param, Float) and param.log:
            row.append(math.log10(max(float(value), param.low)))  # the model default l2=0 sits below the range
        else:
            row.append(float(value))
    return row


def _plain(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    return int(value) if isinstance(value, float) and value.is_integer() else value


@dataclass
class Surrogate:
    """The fitted stand-in trainable: ``predict(hparams, epoch, seed) -> (val_accuracy, seconds)``."""

    accuracy_model: Any
    seconds_model: Any
    space: Any
    max_epochs: int
    noise_sd: float
    rank_correlation: float
    rank_correlation_all_epochs: float
    _cache: dict = field(default_factory=dict, repr=False)

    def curve(self, hparams: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """The whole predicted curve of one configuration (accuracy and seconds per epoch), cached."""
        features = encode(hparams, self.space)
        key = tuple(features)
        if key not in self._cache:
            epochs = np.arange(1, self.max_epochs + 1, dtype=float)
            rows = np.array([features + [e] for e in epochs])
            first = np.array([features + [float(e == 1)] for e in epochs])
            accuracy = np.clip(self.accuracy_model.predict(rows), 0.0, 1.0)
            seconds = np.exp(self.seconds_model.predict(first))
            self._cache[key] = (accuracy, seconds)
        return self._cache[key]

    def stand_in(self, seed: int):
        """A curve function for :func:`engines.backends.ray_search_simulator.simulate_search`, noise seeded by ``seed``."""

        def predict(hparams: Mapping[str, Any], epoch: int) -> tuple[float, float]:
            accuracy, seconds = self.curve(hparams)
            index = min(int(epoch), self.max_epochs) - 1
            digest = hashlib.blake2b(repr((seed, tuple(encode(hparams, self.space)), epoch)).encode(), digest_size=8)
            jitter = np.random.default_rng(int.from_bytes(digest.digest(), "little")).normal(0.0, self.noise_sd)
            return float(np.clip(accuracy[index] + jitter, 0.0, 1.0)), float(seconds[index])

        return predict


def _epoch_noise_sd(frame: Any) -> float:
    """Epoch-to-epoch jitter of the recorded curves: sd of successive differences over sqrt(2), after epoch 5."""
    late = frame[frame["epoch"] > 5].sort_values(["config_id", "epoch"])
    diffs = late.groupby("config_id")["val_accuracy"].diff().dropna()
    return float(diffs.std() / math.sqrt(2)) if len(diffs) else 0.0


def fit_surrogate(frame: Any, space: Any, *, seed: int = 0) -> Surrogate:
    """Fit both models on every recorded configuration; rank correlations from 5 folds grouped by configuration."""
    from scipy.stats import spearmanr
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import GroupKFold

    names = [p.name for p in space]
    params = frame[[f"hp_{n}" for n in names]].rename(columns=lambda c: c[3:])
    encoded = np.array([encode(row, space) for row in params.to_dict("records")])
    encoded[:, np.isnan(encoded).all(axis=0)] = 0.0  # a parameter never active in the records: a constant, not NaN
    epoch = frame["epoch"].to_numpy(dtype=float)
    X_acc = np.column_stack([encoded, epoch])
    X_sec = np.column_stack([encoded, (epoch == 1).astype(float)])
    y_acc = frame["val_accuracy"].to_numpy(dtype=float)
    y_sec = np.log(frame["epoch_seconds"].to_numpy(dtype=float))
    groups = frame["config_id"].to_numpy()
    max_epochs = int(frame["epoch"].max())

    def model() -> Any:
        return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, random_state=seed)

    final_true, final_pred, all_corr = [], [], []
    for train, test in GroupKFold(n_splits=5).split(X_acc, y_acc, groups):
        fitted = model().fit(X_acc[train], y_acc[train])
        predicted = fitted.predict(X_acc[test])
        all_corr.append(spearmanr(predicted, y_acc[test]).statistic)
        last = epoch[test] == max_epochs
        final_true.extend(y_acc[test][last])
        final_pred.extend(predicted[last])
    return Surrogate(
        accuracy_model=model().fit(X_acc, y_acc),
        seconds_model=model().fit(X_sec, y_sec),
        space=space,
        max_epochs=max_epochs,
        noise_sd=_epoch_noise_sd(frame),
        rank_correlation=float(spearmanr(final_pred, final_true).statistic),
        rank_correlation_all_epochs=float(np.mean(all_corr)),
    )
