"""Feed Keras batch by batch from arrays it must not copy (a trial's zero-copy views of Ray's object store).

``model.fit(X, y)`` turns the arrays into tensors first: about 930 MB of private memory per trial for
500 MB of training data (TensorFlow issue 39574; ``benchmarks/bench_memory.py``), in every concurrent
trial although all of them read the same object-store pages. A :class:`keras.utils.PyDataset` over index
batches gathers one batch at a time instead, so a trial holds a few batches of its own.

Epoch ``e`` visits the samples in the order ``numpy.random.default_rng([seed, e])`` draws: the order
depends on the seed and the epoch only, so a trial resumed at epoch ``e`` from a checkpoint sees the same
shuffles as an unbroken run. The training batches of all epochs are one sequence (``fit`` gets
``steps_per_epoch``): Keras builds the next epoch's prefetching iterator before it calls ``on_epoch_end``,
so an order switched there would reach the first batches of the next epoch late.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["epoch_order", "training_batches", "in_order_batches"]


def epoch_order(n_samples: int, seed: int, epoch: int) -> np.ndarray:
    """The order of the samples in epoch ``epoch`` (0-based, Keras's numbering) for this seed."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(int(n_samples))


def _py_dataset(length: int, batch: Any) -> Any:
    import keras

    class IndexBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()  # one worker, no multiprocessing: a gather is a copy of one batch

        def __len__(self) -> int:
            return length

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            return batch(index)

    return IndexBatches()


def training_batches(X: np.ndarray, y: np.ndarray, batch_size: int, *, seed: int, initial_epoch: int,
                     epochs: int) -> tuple[Any, int]:
    """The shuffled batches of epochs ``initial_epoch`` to ``epochs - 1``, and the batches per epoch.

    Pass both to ``fit`` as ``x`` and ``steps_per_epoch``. ``X`` and ``y`` are read, never copied whole
    (read-only views are fine).
    """
    n, size = len(y), int(batch_size)
    per_epoch = math.ceil(n / size)
    orders: dict[int, np.ndarray] = {}

    def batch(index: int) -> tuple[np.ndarray, np.ndarray]:
        epoch, position = initial_epoch + index // per_epoch, index % per_epoch
        if epoch not in orders:
            orders.clear()  # the batches come in order: only the current epoch's is needed
            orders[epoch] = epoch_order(n, seed, epoch)
        # Sorted within the batch: rows are read in memory order; the batch's members are the same.
        rows = np.sort(orders[epoch][position * size:(position + 1) * size])
        return X[rows], y[rows]

    return _py_dataset(per_epoch * (int(epochs) - int(initial_epoch)), batch), per_epoch


def in_order_batches(X: np.ndarray, y: np.ndarray, batch_size: int) -> Any:
    """The batches of one pass over ``(X, y)`` in order (validation), as a ``PyDataset``."""
    size = int(batch_size)
    return _py_dataset(math.ceil(len(y) / size), lambda index: (X[index * size:(index + 1) * size],
                                                                y[index * size:(index + 1) * size]))
