"""Index batches: epoch-seeded shuffles that a resumed fit repeats, over arrays that are read, never copied."""

from __future__ import annotations

import keras
import numpy as np

from eeg.batches import epoch_order, in_order_batches, training_batches


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False  # as a trial's arrays from Ray's object store
    return view


def _rows(batches, start: int, stop: int) -> list[np.ndarray]:
    return [batches[i][0][:, 0].astype(int) for i in range(start, stop)]


def test_each_epoch_visits_every_sample_once_in_an_order_of_the_seed_and_the_epoch():
    X = _read_only(np.arange(10, dtype=np.float32).reshape(10, 1))
    y = _read_only(np.arange(10))
    batches, per_epoch = training_batches(X, y, 4, seed=7, initial_epoch=0, epochs=3)
    assert (per_epoch, len(batches)) == (3, 9)
    epochs = [np.concatenate(_rows(batches, e * 3, e * 3 + 3)) for e in range(3)]
    assert all(sorted(rows) == list(range(10)) for rows in epochs)
    assert len({tuple(rows) for rows in epochs}) == 3  # reshuffled each epoch
    assert [len(rows) for rows in _rows(batches, 0, 3)] == [4, 4, 2]
    for e, rows in enumerate(epochs):  # batch members follow the epoch's order (sorted within a batch)
        order = epoch_order(10, 7, e)
        assert [set(b) for b in np.split(rows, [4, 8])] == [set(order[:4]), set(order[4:8]), set(order[8:])]
    x, labels = batches[0]
    assert x.flags.writeable and not np.shares_memory(x, X)  # one batch gathered, the source untouched
    np.testing.assert_array_equal(x[:, 0], labels)


def test_a_fit_resumed_at_epoch_two_sees_the_batches_of_an_unbroken_run():
    X, y = np.arange(50, dtype=np.float32).reshape(50, 1), np.arange(50)
    unbroken, per_epoch = training_batches(X, y, 8, seed=3, initial_epoch=0, epochs=4)
    resumed, _ = training_batches(X, y, 8, seed=3, initial_epoch=2, epochs=4)
    assert len(resumed) == 2 * per_epoch
    later = [np.asarray(r) for r in _rows(unbroken, 2 * per_epoch, 4 * per_epoch)]
    assert all(np.array_equal(a, b) for a, b in zip(later, _rows(resumed, 0, len(resumed))))
    other_seed, _ = training_batches(X, y, 8, seed=4, initial_epoch=2, epochs=4)
    assert not all(np.array_equal(a, b) for a, b in zip(later, _rows(other_seed, 0, len(other_seed))))


def test_validation_batches_are_the_arrays_in_order():
    X, y = np.arange(10, dtype=np.float32).reshape(10, 1), np.arange(10)
    batches = in_order_batches(_read_only(X), _read_only(y), 4)
    assert len(batches) == 3
    np.testing.assert_array_equal(np.concatenate([batches[i][1] for i in range(3)]), y)


def test_keras_fits_from_read_only_arrays_through_the_batches_and_reports_every_epoch():
    rng = np.random.default_rng(0)
    X = _read_only(rng.normal(size=(64, 3)).astype(np.float32))
    y = _read_only((X[:, 0] > 0).astype(np.int64))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    batches, per_epoch = training_batches(X, y, 16, seed=0, initial_epoch=1, epochs=4)
    history = model.fit(batches, steps_per_epoch=per_epoch, epochs=4, initial_epoch=1, shuffle=False,
                        validation_data=in_order_batches(X, y, 16), verbose=0).history
    assert len(history["loss"]) == 3 and len(history["val_accuracy"]) == 3
