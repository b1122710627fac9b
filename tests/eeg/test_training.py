"""Tests for eeg.training: train-only standardisation, a real (tiny) fit, and honest reporting."""

from __future__ import annotations

import subprocess
import sys
import types

import keras
import numpy as np
import pytest

from eeg.dataset import EEGDataset
from eeg.errors import DataError, HParamError, InputError
from eeg.splits import Split, make_split
from eeg.training import PreparedData, accuracy_line, configure_threads, evaluate, prepare_data, train_model

TINY = {
    "n_conv_blocks": 1,
    "cnn_filters_0": 8,
    "lstm_units": 8,
    "dense_units_0": 16,
    "dense_dropout_0": 0.0,
    "batch_size": 16,
    "learning_rate": 1e-2,
}


def fabricate(n_subjects: int = 4, trials_per_class: int = 3, windows: int = 6, *, flat: bool = False) -> EEGDataset:
    """A learnable problem: the class shifts the mean of its own feature; every recording has an offset."""
    rng = np.random.default_rng(0)
    n_classes = 3
    rows = [
        (s, c, s * 100 + c * trials_per_class + t)
        for s in range(n_subjects)
        for c in range(n_classes)
        for t in range(trials_per_class)
        for _ in range(windows)
    ]
    subject, y, trial = (np.array(col, dtype=np.int64) for col in zip(*rows))
    shape = (len(y), 4) if flat else (len(y), 4, 4)
    X = rng.normal(size=shape)
    offset = 10.0 + 3.0 * subject.astype(float)  # a large, subject-dependent offset on feature 0
    X[..., 0] += offset if flat else offset[:, None]
    for c in range(n_classes):
        X[y == c, ..., c + 1] += 4.0
    return EEGDataset(
        X=X.astype(np.float32), y=y, subject=subject, trial=trial, class_names=("a", "b", "c"), source="fabricated"
    )


@pytest.fixture(scope="module")
def dataset() -> EEGDataset:
    return fabricate()


def by_subject(ds: EEGDataset) -> Split:
    """Subjects 0 and 1 train, 2 validates, 3 (the largest offset) is the test."""
    return Split(*(np.flatnonzero(np.isin(ds.subject, s)) for s in ([0, 1], [2], [3])), strategy="subject")


@pytest.fixture(scope="module")
def prepared(dataset) -> PreparedData:
    return prepare_data(dataset, by_subject(dataset))


def test_standardisation_uses_training_statistics_only(dataset, prepared):
    flat_train = prepared.X_train.reshape(-1, 4)
    np.testing.assert_allclose(flat_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(flat_train.std(axis=0), 1.0, atol=1e-4)
    # The held-out subjects have a different offset on feature 0: their mean must not be 0.
    assert prepared.X_test.reshape(-1, 4)[:, 0].mean() > 2.0
    assert prepared.X_val.reshape(-1, 4)[:, 0].mean() > 1.0


def test_the_stored_scaler_reproduces_the_prepared_arrays(dataset):
    split = by_subject(dataset)
    prepared = prepare_data(dataset, split)
    np.testing.assert_allclose(prepared.scaler_mean, dataset.X[split.train].reshape(-1, 4).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(prepared.standardize(dataset.X[split.test]), prepared.X_test, atol=1e-5)
    assert prepared.X_test.dtype == np.float32
    np.testing.assert_array_equal(prepared.y_test, dataset.y[split.test])


def test_without_test_hides_only_the_test_arrays(prepared):
    hidden = prepared.without_test()
    assert hidden.X_test is None and hidden.y_test is None
    assert hidden.X_train is prepared.X_train and prepared.X_test is not None
    assert hidden.input_shape == prepared.input_shape == (4, 4)
    assert (hidden.n_classes, hidden.class_names) == (3, ("a", "b", "c"))


def test_an_empty_test_side_gives_none_and_an_empty_train_side_raises(dataset):
    idx = np.arange(len(dataset.y))
    assert prepare_data(dataset, Split(idx[:50], idx[50:], idx[:0], "subject")).X_test is None
    with pytest.raises(DataError, match="empty train"):
        prepare_data(dataset, Split(idx[:0], idx, idx, "trial"))


@pytest.mark.parametrize("flat", [False, True])
def test_two_epochs_on_a_learnable_problem_beat_the_majority_baseline(flat):
    ds = fabricate(flat=flat)
    prepared = prepare_data(ds, make_split(ds, "trial", seed=0))
    # batch 8: enough steps in two epochs for the weaker flat (one-channel) reading too
    model, history = train_model({**TINY, "batch_size": 8}, prepared.without_test(), epochs=2, seed=0)
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 2 for values in history.values())
    scores = evaluate(model, prepared.X_test, prepared.y_test, prepared.y_train)
    assert scores["chance"] == pytest.approx(1 / 3)
    assert scores["majority_baseline"] == pytest.approx(1 / 3)  # the classes are balanced
    assert scores["accuracy"] > scores["majority_baseline"] + 0.2
    assert set(scores) == {"accuracy", "loss", "majority_baseline", "chance"}


class FitRecorder:
    """Stands in for a keras.Model: records what train_model passes to fit, trains nothing."""

    def fit(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        return types.SimpleNamespace(history={"loss": [np.float32(1.5)]})


def _samples(batches) -> list[np.ndarray]:
    return [batches[i] for i in range(len(batches))]


def test_fit_gets_batches_of_the_batch_size_from_the_training_and_the_validation_arrays_only(prepared):
    recorder = FitRecorder()
    model, history = train_model({**TINY, "batch_size": 64}, prepared, epochs=3, initial_epoch=1, model=recorder)
    assert model is recorder and history == {"loss": [1.5]} and type(history["loss"][0]) is float
    (train,), kwargs = recorder.args, recorder.kwargs
    assert (kwargs["epochs"], kwargs["initial_epoch"], kwargs["shuffle"]) == (3, 1, False)
    per_epoch = kwargs["steps_per_epoch"]
    assert per_epoch == -(-len(prepared.y_train) // 64) and len(train) == 2 * per_epoch  # epochs 1 and 2
    batches = _samples(train)
    assert all(len(y) == 64 for _, y in batches[:per_epoch - 1])
    for epoch in (batches[:per_epoch], batches[per_epoch:]):  # each epoch: every training sample once
        X = np.concatenate([x for x, _ in epoch])
        order = np.lexsort(X.reshape(len(X), -1).T)
        expected = prepared.X_train[np.lexsort(prepared.X_train.reshape(len(X), -1).T)]
        np.testing.assert_array_equal(X[order], expected)
    val = _samples(kwargs["validation_data"])
    np.testing.assert_array_equal(np.concatenate([x for x, _ in val]), prepared.X_val)  # in order, whole
    np.testing.assert_array_equal(np.concatenate([y for _, y in val]), prepared.y_val)


def test_early_stopping_watches_val_accuracy_and_restores_the_best_weights(prepared):
    recorder = FitRecorder()
    marker = keras.callbacks.Callback()
    train_model(TINY, prepared, epochs=1, model=recorder, callbacks=[marker])
    assert recorder.kwargs["callbacks"] == [marker]
    train_model(TINY, prepared, epochs=1, model=recorder, callbacks=[marker], early_stopping_patience=3)
    stopper = recorder.kwargs["callbacks"][-1]
    assert isinstance(stopper, keras.callbacks.EarlyStopping)
    assert (stopper.monitor, stopper.patience, stopper.restore_best_weights) == ("val_accuracy", 3, True)


def test_invalid_hparams_fail_before_any_training(prepared):
    with pytest.raises(HParamError, match="batch_size"):
        train_model({"batch_size": 0}, prepared, epochs=1, model=FitRecorder())


def test_training_continues_a_given_model_from_an_initial_epoch(prepared):
    model, first = train_model(TINY, prepared, epochs=1)
    same, second = train_model(TINY, prepared, epochs=2, initial_epoch=1, model=model)
    assert same is model
    assert len(first["loss"]) == len(second["loss"]) == 1
    with pytest.raises(InputError, match="epochs must be > initial_epoch"):
        train_model(TINY, prepared, epochs=1, initial_epoch=1, model=model)


def test_the_accuracy_line_puts_the_baselines_beside_the_accuracy():
    line = accuracy_line("Test accuracy", 0.413, 0.208, 0.2)
    assert line == "Test accuracy: 41.3% (majority baseline 20.8%, chance 20.0%)"
    assert accuracy_line("Tuned", 1.0, 0.5, 1 / 3) == "Tuned: 100.0% (majority baseline 50.0%, chance 33.3%)"


def test_configure_threads_is_a_no_op_once_tensorflow_runs_and_rejects_bad_counts():
    import tensorflow as tf

    tf.constant(1.0) + 1.0  # TensorFlow is certainly running now
    assert configure_threads(3) is False
    for bad in (0, -1, 1.5, True):
        with pytest.raises(InputError, match="n_threads"):
            configure_threads(bad)


@pytest.mark.slow  # starts a second Python that imports TensorFlow (~5-8 s)
def test_configure_threads_applies_in_a_fresh_process():
    code = (
        "from eeg.training import configure_threads; import tensorflow as tf; "
        "print(configure_threads(2), tf.config.threading.get_intra_op_parallelism_threads(), "
        "tf.config.threading.get_inter_op_parallelism_threads())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.split()[-3:] == ["True", "2", "2"]
