"""Tests for eeg.model: hyperparameter resolution and the CNN + LSTM builder."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from eeg.errors import DataError, HParamError
from eeg.model import DEFAULT_HPARAMS, build_model, resolve_hparams

SHAPE = (8, 6)  # 8 windows of 6 features: small, but long enough to pool three times
SIZES = ("cnn_filters_0", "cnn_filters_1", "cnn_filters_2", "lstm_units", "dense_units_0", "dense_units_1")
SMALL = {key: 8 for key in SIZES}


def layer_types(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def signature(model: keras.Model) -> tuple[list, dict]:
    """Everything a knob may change: each layer's config and the optimizer's config."""
    return [(type(layer).__name__, layer.get_config()) for layer in model.layers], model.optimizer.get_config()


def test_no_overrides_resolve_to_the_defaults():
    resolved = resolve_hparams({})
    assert resolved == DEFAULT_HPARAMS
    assert resolved is not DEFAULT_HPARAMS
    assert resolve_hparams(None) == DEFAULT_HPARAMS


def test_values_from_searchers_are_normalised_to_plain_python_types():
    resolved = resolve_hparams(
        {
            "batch_size": np.int64(64),
            "n_conv_blocks": 2.0,
            "kernel_size": np.float64(5.0),
            "learning_rate": np.float32(0.01),
            "use_lstm": 0,
            "optimizer": np.str_("adamw"),
            "l2": 0,
        }
    )
    assert resolved["batch_size"] == 64 and type(resolved["batch_size"]) is int
    assert resolved["n_conv_blocks"] == 2 and type(resolved["n_conv_blocks"]) is int
    assert resolved["kernel_size"] == 5 and type(resolved["kernel_size"]) is int
    assert type(resolved["learning_rate"]) is float and math.isclose(resolved["learning_rate"], 0.01, rel_tol=1e-6)
    assert resolved["use_lstm"] is False
    assert resolved["optimizer"] == "adamw"
    assert type(resolved["l2"]) is float


def test_unknown_keys_raise_naming_every_one_of_them():
    with pytest.raises(HParamError, match="lstm_unit.*lr|lr.*lstm_unit") as info:
        resolve_hparams({"lr": 0.1, "lstm_unit": 4, "batch_size": 8})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("learning_rate", 0),
        ("learning_rate", 1.5),
        ("learning_rate", float("nan")),
        ("learning_rate", "fast"),
        ("batch_size", 0),
        ("batch_size", 2.5),
        ("batch_size", True),
        ("cnn_filters_1", -8),
        ("lstm_units", 0),
        ("dense_units_1", 3.5),
        ("kernel_size", 4),
        ("pooling", "min"),
        ("optimizer", "sgd"),
        ("cnn_dropout", 1.0),
        ("lstm_dropout", -0.1),
        ("dense_dropout_1", 1.2),
        ("n_conv_blocks", 4),
        ("n_dense_layers", 0),
        ("l2", -1e-4),
        ("use_lstm", "yes"),
        ("use_lstm", 2),
    ],
)
def test_an_invalid_value_raises_naming_the_key_and_the_value(key, value):
    with pytest.raises(HParamError) as info:
        resolve_hparams({key: value})
    message = str(info.value)
    assert key in message and repr(value) in message and "must be" in message


# The value each knob takes instead of its default, and the base it is varied from
# (dense_*_1 only matter with two dense layers).
ALTERNATIVES = {
    "learning_rate": 1e-2,
    "optimizer": "rmsprop",
    "n_conv_blocks": 2,
    "cnn_filters_0": 16,
    "cnn_filters_1": 16,
    "cnn_filters_2": 16,
    "kernel_size": 5,
    "pooling": "avg",
    "cnn_dropout": 0.2,
    "use_lstm": False,
    "lstm_units": 16,
    "lstm_dropout": 0.1,
    "lstm_recurrent_dropout": 0.1,
    "n_dense_layers": 2,
    "dense_units_0": 16,
    "dense_units_1": 16,
    "dense_dropout_0": 0.5,
    "dense_dropout_1": 0.1,
    "l2": 1e-3,
}


def test_every_knob_except_batch_size_has_an_alternative_here():
    # batch_size shapes training, not the model: tests/eeg/test_training.py covers it.
    assert set(ALTERNATIVES) == set(DEFAULT_HPARAMS) - {"batch_size"}


@pytest.mark.parametrize("key", sorted(ALTERNATIVES))
def test_every_knob_changes_the_built_model(key):
    base = {**SMALL, "n_dense_layers": 2} if key.endswith("_1") and key.startswith("dense") else dict(SMALL)
    assert signature(build_model(base, SHAPE, 5)) != signature(build_model({**base, key: ALTERNATIVES[key]}, SHAPE, 5))


def test_without_the_lstm_the_sequence_is_averaged_instead():
    types = layer_types(build_model({**SMALL, "use_lstm": False}, SHAPE, 5))
    assert "LSTM" not in types and "GlobalAveragePooling1D" in types
    assert "LSTM" in layer_types(build_model(SMALL, SHAPE, 5))


def test_pooling_none_adds_no_pooling_layers_and_avg_uses_average_pooling():
    types = layer_types(build_model({**SMALL, "pooling": "none"}, SHAPE, 5))
    assert not any(t in ("MaxPooling1D", "AveragePooling1D") for t in types)
    assert layer_types(build_model({**SMALL, "pooling": "avg"}, SHAPE, 5)).count("AveragePooling1D") == 3


def test_conv_and_dense_blocks_follow_their_counts():
    types = layer_types(build_model({**SMALL, "n_conv_blocks": 1, "n_dense_layers": 2}, SHAPE, 5))
    assert types.count("Conv1D") == 1
    assert types.count("BatchNormalization") == 1
    assert types.count("Dense") == 3  # two hidden layers and the softmax


def test_pooling_stops_once_the_sequence_is_one_step_long():
    model = build_model(SMALL, (3, 4), 5)  # 3 -> 1, then nothing left to halve
    assert layer_types(model).count("MaxPooling1D") == 1
    assert model.predict(np.zeros((2, 3, 4), np.float32), verbose=0).shape == (2, 5)


def test_l2_regularises_the_kernels_only_when_positive():
    assert build_model(SMALL, SHAPE, 5).losses == []
    regularised = build_model({**SMALL, "l2": 1e-3}, SHAPE, 5)
    # conv x3, the LSTM and the hidden dense layer
    assert len(regularised.losses) == 5


def test_dropout_rates_reach_their_layers():
    model = build_model({**SMALL, "cnn_dropout": 0.25, "lstm_dropout": 0.1, "lstm_recurrent_dropout": 0.2}, SHAPE, 5)
    assert [layer.rate for layer in model.layers if layer.name.startswith("conv_dropout")] == [0.25] * 3
    lstm = model.get_layer("lstm")
    assert (lstm.dropout, lstm.recurrent_dropout) == (0.1, 0.2)
    assert model.get_layer("dense_dropout_0").rate == 0.3


@pytest.mark.parametrize(("name", "cls"), [("adam", "Adam"), ("adamw", "AdamW"), ("rmsprop", "RMSprop")])
def test_the_model_is_compiled_with_the_chosen_optimizer_and_learning_rate(name, cls):
    model = build_model({**SMALL, "optimizer": name, "learning_rate": 3e-4}, SHAPE, 5)
    assert type(model.optimizer).__name__ == cls
    assert math.isclose(float(model.optimizer.learning_rate), 3e-4, rel_tol=1e-6)
    assert model.loss == "sparse_categorical_crossentropy"


def test_a_flat_feature_table_is_read_as_a_one_channel_sequence():
    model = build_model(SMALL, (12,), 3)
    assert layer_types(model)[1] == "Reshape"
    probabilities = model.predict(np.random.default_rng(0).normal(size=(4, 12)).astype(np.float32), verbose=0)
    assert probabilities.shape == (4, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(("shape", "n_classes"), [((2, 3, 4), 5), ((0, 4), 5), ((8, 6), 1)])
def test_an_unusable_input_shape_or_class_count_raises(shape, n_classes):
    with pytest.raises(DataError, match="build_model"):
        build_model(SMALL, shape, n_classes)
