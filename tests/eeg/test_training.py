"""Tests for eeg.training: train-only standardisation, a real (tiny) fit, and honest reporting."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import types

import keras
import numpy as np
import pytest

from eeg.dataset import EEGDataset
from eeg.errors import DataError, HParamError, InputError
from eeg.splits import Split, make_split
from eeg.training import (
    PreparedData,
    _batches,
    accuracy_line,
    configure_threads,
    evaluate,
    prepare_data,
    train_model,
)

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


def batches_of(dataset, steps):
    return [(x, y) for x, y in dataset.take(steps).as_numpy_iterator()]


def test_fit_gets_batches_of_the_training_and_the_validation_arrays_only(prepared):
    recorder = FitRecorder()
    model, history = train_model({**TINY, "batch_size": 64}, prepared, epochs=3, initial_epoch=1, model=recorder)
    assert model is recorder and history == {"loss": [1.5]} and type(history["loss"][0]) is float
    n, steps = len(prepared.y_train), -(-len(prepared.y_train) // 64)
    assert (recorder.kwargs["steps_per_epoch"], recorder.kwargs["epochs"], recorder.kwargs["initial_epoch"]) == (steps, 3, 1)
    train = batches_of(recorder.args[0], 2 * steps)  # two epochs: the dataset repeats
    assert [len(y) for _, y in train[:steps]] == [64] * (steps - 1) + [n - 64 * (steps - 1)]
    for epoch in (train[:steps], train[steps:]):
        X = np.concatenate([x for x, _ in epoch])
        order = np.lexsort(X.reshape(len(X), -1).T)  # each epoch holds every training sample once
        np.testing.assert_array_equal(X[order], prepared.X_train[np.lexsort(prepared.X_train.reshape(n, -1).T)])
    assert not np.array_equal(train[0][0], prepared.X_train[:64])  # shuffled
    val = batches_of(recorder.kwargs["validation_data"], 100)
    np.testing.assert_array_equal(np.concatenate([x for x, _ in val]), prepared.X_val)  # in order, once
    np.testing.assert_array_equal(np.concatenate([y for _, y in val]), prepared.y_val)


def test_the_shuffles_depend_on_the_seed_and_the_epoch_only(prepared):
    X, y = prepared.X_train, prepared.y_train
    steps = -(-len(y) // 16)
    from_zero = batches_of(_batches(X, y, 16, seed=3), 2 * steps)
    from_one = batches_of(_batches(X, y, 16, seed=3, first_epoch=1), steps)
    for (xa, ya), (xb, yb) in zip(from_zero[steps:], from_one):  # a resumed model sees an unbroken run's shuffles
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    other = batches_of(_batches(X, y, 16, seed=4), 1)
    assert not np.array_equal(other[0][0], from_zero[0][0])
    assert not np.array_equal(from_zero[0][0], from_zero[steps][0])  # every epoch a new order


def test_the_same_seed_gives_the_same_history_and_weights(prepared):
    first, history = train_model(TINY, prepared, epochs=2, seed=5)
    again, same = train_model(TINY, prepared, epochs=2, seed=5)
    assert history == same
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def _private_mb() -> float:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) / 1024 for line in handle if line.startswith("RssAnon:"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads RssAnon from /proc/self/status")
def test_a_read_only_memory_mapped_training_set_trains_without_a_private_copy(tmp_path):
    """Keras's fit(X, y) copies the arrays into tensors: a Ray trial's read-only object-store views would double."""
    rng = np.random.default_rng(0)
    n, shape = 1600, (64, 256)  # 100 MiB of float32 on disk: file pages, not private memory
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n, *shape))
    for start in range(0, n, 200):
        X[start:start + 200] = rng.normal(size=(200, *shape))
    X.flush()
    del X
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    y = np.arange(n) % 3
    data = PreparedData(X, y, X[:64], y[:64], None, None, 3, ("a", "b", "c"))
    hparams = {**TINY, "batch_size": 128, "cnn_filters_0": 4, "dense_units_0": 4}
    model, _ = train_model(hparams, dataclasses.replace(data, X_train=X[:128], y_train=y[:128]), epochs=1)
    peak = [_private_mb()]
    before = peak[0]

    class Sample(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            peak[0] = max(peak[0], _private_mb())

    train_model(hparams, data, epochs=2, initial_epoch=1, model=model, callbacks=[Sample()])
    assert not X.flags.writeable
    assert peak[0] - before < X.nbytes / 2**20 / 2, f"private memory grew {peak[0] - before:.0f} MB during fit"


def test_early_stopping_watches_val_accuracy_and_restores_the_best_weights(prepared):
    recorder = FitRecorder()
    marker = keras.callbacks.Callback()
    train_model(TINY, prepared, epochs=1, model=recorder, callbacks=[marker])
    assert recorder.kwargs["callbacks"] == [marker]
    train_model(TINY, prepared, epochs=1, model=recorder, callbacks=[marker], early_stopping_patience=3)
    stopper = recorder.kwargs["callbacks"][-1]
    assert isinstance(stopper, keras.callbacks.EarlyStopping)
    assert (stopper.monitor, stopper.patience, stopper.restore_best_weights) == ("val_accuracy", 3, True)


def test_early_stopping_ends_a_real_fit_once_val_accuracy_stops_improving(prepared):
    _, history = train_model(TINY, prepared, epochs=30, seed=0, early_stopping_patience=1)
    assert len(history["val_accuracy"]) < 30  # the learnable problem reaches its best val accuracy early


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
