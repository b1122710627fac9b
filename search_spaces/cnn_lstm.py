"""The CNN + LSTM emotion classifier's search space, as plain data.

It is the space of the tuning guide's "What Gets Optimized?" list (CNN blocks, filters,
kernels, pooling; LSTM on/off, units, dropouts; dense layers; learning rate 1e-5..1e-2,
batch size 16/32/64, Adam/AdamW/RMSprop; L2 and dropout per layer). Names are exactly the
keys of ``eeg.model.DEFAULT_HPARAMS``, so a sampled config goes straight into
``eeg.model.resolve_hparams``.

Conditional parameters (``cnn_filters_1`` with two or more blocks, ``cnn_filters_2`` with
three, the ``lstm_*`` knobs with ``use_lstm``, ``dense_*_1`` with two dense layers) carry a
:class:`~search_spaces.space.Condition`. Backends that can express conditions (Optuna,
Keras Tuner) only draw them when active; the others draw them always and the model ignores
the inactive ones.

Widen or narrow any range without editing this file: ``--space my_space.yaml`` (see
:mod:`search_spaces.overrides`).
"""

from __future__ import annotations

from search_spaces.space import Bool, Categorical, Condition, Float, Int, SearchSpace

__all__ = ["SPACE"]

_TWO_OR_MORE_BLOCKS = Condition("n_conv_blocks", (2, 3))
_THREE_BLOCKS = Condition("n_conv_blocks", (3,))
_WITH_LSTM = Condition("use_lstm", (True,))
_TWO_DENSE_LAYERS = Condition("n_dense_layers", (2,))

SPACE = SearchSpace(
    name="cnn_lstm",
    params=(
        # Training
        Float("learning_rate", 1e-5, 1e-2, log=True),
        Categorical("batch_size", (16, 32, 64)),
        Categorical("optimizer", ("adam", "adamw", "rmsprop")),
        # CNN
        Int("n_conv_blocks", 1, 3),
        Int("cnn_filters_0", 32, 256, step=32),
        Int("cnn_filters_1", 32, 256, step=32, when=_TWO_OR_MORE_BLOCKS),
        Int("cnn_filters_2", 32, 256, step=32, when=_THREE_BLOCKS),
        Categorical("kernel_size", (3, 5, 7)),
        Categorical("pooling", ("max", "avg", "none")),
        Float("cnn_dropout", 0.0, 0.5),
        # LSTM
        Bool("use_lstm"),
        Int("lstm_units", 32, 256, step=32, when=_WITH_LSTM),
        Float("lstm_dropout", 0.0, 0.5, when=_WITH_LSTM),
        Float("lstm_recurrent_dropout", 0.0, 0.5, when=_WITH_LSTM),
        # Dense head
        Int("n_dense_layers", 1, 2),
        Int("dense_units_0", 32, 512, step=32),
        Int("dense_units_1", 32, 512, step=32, when=_TWO_DENSE_LAYERS),
        Float("dense_dropout_0", 0.0, 0.6),
        Float("dense_dropout_1", 0.0, 0.6, when=_TWO_DENSE_LAYERS),
        # Regularisation
        Float("l2", 1e-6, 1e-2, log=True),
    ),
)
