"""K fold models of one config trained in lockstep, epoch by epoch: a cross-validated trial score.

Selecting the best of many configs on one small validation split overfits that split (on the
subject split, 20 points of optimism: BENCHMARKS.md). A trial scored on the mean over K folds
is what selection can trust. The folds train in lockstep, one epoch each in turn, so the
trial can report the fold mean every epoch and a scheduler (ASHA, HyperBand) still cuts on
epochs; fold-wise early stopping would give schedulers no per-epoch signal to cut on.

No Ray here: the Ray trainable, the native Optuna objective and the Keras Tuner subclass all
call :class:`LockstepFolds`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from eeg.model import build_model, resolve_hparams
from eeg.training import PreparedData, check_finite, prepare_data, train_model

__all__ = ["prepare_fold_data", "LockstepFolds", "fold_summary", "fold_scores_of", "FOLD_MODEL_FILE"]

FOLD_MODEL_FILE = "fold_{index}.keras"  # one file per fold model in a trial's checkpoint


def prepare_fold_data(ds: Any, folds: Sequence[Any]) -> list[PreparedData]:
    """One standardised :class:`PreparedData` per fold (statistics of that fold's training side), no test arrays."""
    return [prepare_data(ds, fold).without_test() for fold in folds]


def fold_summary(fold_scores: Sequence[float]) -> dict[str, float]:
    """Mean and (population) standard deviation of per-fold validation accuracies."""
    scores = np.asarray(fold_scores, dtype=float)
    return {"val_accuracy": float(scores.mean()), "val_accuracy_std": float(scores.std())}


class LockstepFolds:
    """K models of one hparams dict, one per fold, advanced one epoch at a time together.

    Args:
        hparams: The config (overrides of the model's defaults).
        folds: One :class:`PreparedData` per fold.
        seed: The trial seed; fold ``i`` trains with ``seed + 1000 * i`` so folds do not share shuffles.
        models: Models restored from a checkpoint (one per fold), with ``epoch`` the epochs they have run.
    """

    def __init__(self, hparams: Mapping[str, Any], folds: Sequence[PreparedData], *, seed: int = 0,
                 models: Sequence[Any] | None = None, epoch: int = 0) -> None:
        self.hparams = resolve_hparams(hparams)
        self.folds = list(folds)
        self.seed = int(seed)
        self.epoch = int(epoch)
        if models is None:
            models = [build_model(self.hparams, fold.input_shape, fold.n_classes) for fold in self.folds]
        if len(models) != len(self.folds):
            raise ValueError(f"LockstepFolds: {len(models)} models for {len(self.folds)} folds")
        self.models = list(models)

    def train_epoch(self) -> dict[str, Any]:
        """Run one more epoch on every fold; the fold mean and std of each metric, plus each fold's val_accuracy.

        Raises:
            NonFiniteLossError: A fold's loss became NaN or Inf (the trial diverged).
        """
        per_fold = []
        for index, (model, fold) in enumerate(zip(self.models, self.folds)):
            _, history = train_model(self.hparams, fold, epochs=self.epoch + 1, initial_epoch=self.epoch,
                                     model=model, seed=self.seed + 1000 * index)
            last = {name: values[-1] for name, values in history.items()}
            check_finite(last, self.epoch + 1, self.hparams)
            per_fold.append(last)
        self.epoch += 1
        fold_scores = [f["val_accuracy"] for f in per_fold]
        metrics: dict[str, Any] = {name: float(np.mean([f[name] for f in per_fold]))
                                   for name in ("val_loss", "accuracy", "loss")}
        metrics.update(fold_summary(fold_scores))
        metrics.update({f"val_accuracy_fold_{i}": float(v) for i, v in enumerate(fold_scores)})
        metrics.update(epoch=self.epoch, cv_folds=len(self.folds))
        return metrics


def fold_scores_of(metrics: Mapping[str, Any]) -> list[float]:
    """The per-fold validation accuracies in one reported result (``val_accuracy_fold_<i>`` keys), in fold order."""
    keys = sorted((k for k in metrics if k.startswith("val_accuracy_fold_")), key=lambda k: int(k.rsplit("_", 1)[1]))
    return [float(metrics[k]) if metrics[k] is not None and math.isfinite(float(metrics[k])) else float("nan")
            for k in keys]


