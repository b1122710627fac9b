"""The K fold models of one config trained in lockstep: one epoch each per step, the fold mean reported."""

from __future__ import annotations

import numpy as np
import pytest

from eeg.cv_training import LockstepFolds, fold_scores_of, fold_summary, prepare_fold_data
from eeg.splits import cv_folds, make_split
from eeg.synthetic import make_dummy_dataset

TINY = {"n_conv_blocks": 1, "cnn_filters_0": 8, "use_lstm": False, "n_dense_layers": 1, "dense_units_0": 8,
        "batch_size": 8}


@pytest.fixture(scope="module")
def fold_data():
    ds = make_dummy_dataset(smoke_test=True)
    return prepare_fold_data(ds, cv_folds(ds, make_split(ds, "trial", seed=0), 2, seed=0))


def test_each_fold_is_standardised_on_its_own_training_side_and_holds_no_test_arrays(fold_data):
    assert len(fold_data) == 2
    for fold in fold_data:
        assert fold.X_test is None and fold.y_test is None
        assert abs(float(fold.X_train.mean())) < 1e-3  # train statistics: train is centred, val need not be
    assert not np.array_equal(fold_data[0].scaler_mean, fold_data[1].scaler_mean)


def test_the_folds_advance_together_and_the_score_is_their_mean(fold_data):
    trainer = LockstepFolds(TINY, fold_data, seed=0)
    first = trainer.train_epoch()
    second = trainer.train_epoch()
    assert trainer.epoch == 2 and first["epoch"] == 1 and second["epoch"] == 2 and second["cv_folds"] == 2
    scores = fold_scores_of(second)
    assert len(scores) == 2
    assert second["val_accuracy"] == pytest.approx(np.mean(scores))
    assert second["val_accuracy_std"] == pytest.approx(np.std(scores))
    assert all(len(model.history.history["loss"]) == 1 for model in trainer.models)  # one epoch per step


def test_restored_models_continue_from_their_epoch(fold_data):
    trainer = LockstepFolds(TINY, fold_data, seed=0)
    trainer.train_epoch()
    resumed = LockstepFolds(TINY, fold_data, seed=0, models=trainer.models, epoch=trainer.epoch)
    assert resumed.train_epoch()["epoch"] == 2
    with pytest.raises(ValueError, match="1 models for 2 folds"):
        LockstepFolds(TINY, fold_data, models=trainer.models[:1])


def test_fold_summary_is_the_mean_and_population_std():
    assert fold_summary([0.4, 0.6]) == pytest.approx({"val_accuracy": 0.5, "val_accuracy_std": 0.1})
