"""The CNN+LSTM search space (search_spaces/cnn_lstm.py): the guide's hyperparameters, ranges and model defaults."""

from __future__ import annotations

import pytest

from search_spaces.cnn_lstm import SPACE
from search_spaces.space import Float


CONTRACT_NAMES = {
    "learning_rate", "optimizer", "batch_size", "n_conv_blocks", "cnn_filters_0", "cnn_filters_1",
    "cnn_filters_2", "kernel_size", "pooling", "cnn_dropout", "use_lstm", "lstm_units", "lstm_dropout",
    "lstm_recurrent_dropout", "n_dense_layers", "dense_units_0", "dense_units_1", "dense_dropout_0",
    "dense_dropout_1", "l2",
}


def test_the_cnn_lstm_space_names_exactly_the_contracts_hyperparameters():
    assert set(SPACE.names) == CONTRACT_NAMES


def test_the_cnn_lstm_space_names_exactly_the_models_default_hparams():
    model = pytest.importorskip("eeg.model")
    assert set(SPACE.names) == set(model.DEFAULT_HPARAMS)


def test_the_cnn_lstm_space_has_the_guides_ranges():
    assert SPACE["learning_rate"] == Float("learning_rate", 1e-5, 1e-2, log=True)
    assert SPACE["batch_size"].choices == (16, 32, 64)
    assert SPACE["optimizer"].choices == ("adam", "adamw", "rmsprop")
    assert SPACE["kernel_size"].choices == (3, 5, 7)
    assert SPACE["pooling"].choices == ("max", "avg", "none")
    assert (SPACE["n_conv_blocks"].low, SPACE["n_conv_blocks"].high) == (1, 3)
    for name in ("cnn_filters_0", "cnn_filters_1", "cnn_filters_2", "lstm_units"):
        assert SPACE[name].grid == list(range(32, 257, 32))
    for name in ("dense_units_0", "dense_units_1"):
        assert SPACE[name].grid == list(range(32, 513, 32))
    assert SPACE["dense_dropout_1"].high == 0.6 and SPACE["cnn_dropout"].high == 0.5
    assert SPACE["l2"] == Float("l2", 1e-6, 1e-2, log=True)


def test_the_models_validator_accepts_every_extreme_of_the_built_in_space():
    model = pytest.importorskip("eeg.model")
    from search_spaces.overrides import check_space_against_model

    check_space_against_model(SPACE, model.resolve_hparams)
