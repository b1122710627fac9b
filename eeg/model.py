"""The CNN + LSTM emotion classifier and its hyperparameters.

Every knob the tuning guide optimises ("What gets optimized?") is one key of
:data:`DEFAULT_HPARAMS`. :func:`resolve_hparams` layers overrides on those defaults and
rejects unknown keys and out-of-range values with an :class:`~eeg.errors.HParamError`
that names them, so a typo in ``--hparams`` or a search space fails loudly instead of
being silently ignored.

Keras is imported inside :func:`build_model` only: resolving hyperparameters (the CLI,
the search spaces) stays cheap and never starts TensorFlow.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from eeg.errors import DataError, HParamError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras

__all__ = [
    "DEFAULT_HPARAMS",
    "OPTIMIZERS",
    "POOLINGS",
    "KERNEL_SIZES",
    "MAX_CONV_BLOCKS",
    "MAX_DENSE_LAYERS",
    "resolve_hparams",
    "build_model",
]

OPTIMIZERS: tuple[str, ...] = ("adam", "adamw", "rmsprop")
POOLINGS: tuple[str, ...] = ("max", "avg", "none")
KERNEL_SIZES: tuple[int, ...] = (3, 5, 7)
MAX_CONV_BLOCKS = 3
MAX_DENSE_LAYERS = 2

# Grouped like the guide: training, CNN, LSTM, dense head, regularisation.
DEFAULT_HPARAMS: dict[str, Any] = {
    # training
    "learning_rate": 1e-3,
    "optimizer": "adam",
    "batch_size": 32,
    # CNN
    "n_conv_blocks": 3,
    "cnn_filters_0": 64,
    "cnn_filters_1": 128,
    "cnn_filters_2": 256,
    "kernel_size": 3,
    "pooling": "max",
    "cnn_dropout": 0.0,
    # LSTM
    "use_lstm": True,
    "lstm_units": 128,
    "lstm_dropout": 0.0,
    "lstm_recurrent_dropout": 0.0,
    # dense head
    "n_dense_layers": 1,
    "dense_units_0": 128,
    "dense_units_1": 64,
    "dense_dropout_0": 0.3,
    "dense_dropout_1": 0.3,
    # regularisation
    "l2": 0.0,
}


# --- validation -----------------------------------------------------------------------
# A rule is (coerce, check, description); coerce raises TypeError for a wrong type.
_Rule = tuple[Callable[[Any], Any], Callable[[Any], bool], str]


def _as_float(value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError("a number")
    result = float(value)
    if not math.isfinite(result):
        raise TypeError("a finite number")
    return result


def _as_int(value: Any) -> int:
    # Searchers hand back numpy integers and integral floats (2.0); accept both, but not
    # 2.5 and not bools (True as a batch size is a bug, not a choice).
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError("an integer")
    if isinstance(value, numbers.Integral):
        return int(value)
    if not math.isfinite(float(value)) or float(value) != int(value):
        raise TypeError("an integer")
    return int(value)


def _as_bool(value: Any) -> bool:
    # Searchers that only know numbers encode a boolean choice as 0/1.
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Real) and value in (0, 1):
        return bool(value)
    raise TypeError("a boolean (true/false or 0/1)")


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a string")
    return str(value)


def _positive_int() -> _Rule:
    return _as_int, lambda v: v > 0, "a positive integer"


def _dropout() -> _Rule:
    return _as_float, lambda v: 0.0 <= v < 1.0, "a rate in [0, 1)"


def _one_of(choices: tuple[Any, ...], coerce: Callable[[Any], Any]) -> _Rule:
    return coerce, lambda v: v in choices, f"one of {', '.join(map(str, choices))}"


def _int_range(low: int, high: int) -> _Rule:
    return _as_int, lambda v: low <= v <= high, f"an integer in {low}..{high}"


_RULES: dict[str, _Rule] = {
    "learning_rate": (_as_float, lambda v: 0.0 < v <= 1.0, "a number in (0, 1]"),
    "optimizer": _one_of(OPTIMIZERS, _as_str),
    "batch_size": _positive_int(),
    "n_conv_blocks": _int_range(1, MAX_CONV_BLOCKS),
    **{f"cnn_filters_{i}": _positive_int() for i in range(MAX_CONV_BLOCKS)},
    "kernel_size": _one_of(KERNEL_SIZES, _as_int),
    "pooling": _one_of(POOLINGS, _as_str),
    "cnn_dropout": _dropout(),
    "use_lstm": (_as_bool, lambda v: True, "a boolean"),
    "lstm_units": _positive_int(),
    "lstm_dropout": _dropout(),
    "lstm_recurrent_dropout": _dropout(),
    "n_dense_layers": _int_range(1, MAX_DENSE_LAYERS),
    **{f"dense_units_{i}": _positive_int() for i in range(MAX_DENSE_LAYERS)},
    **{f"dense_dropout_{i}": _dropout() for i in range(MAX_DENSE_LAYERS)},
    "l2": (_as_float, lambda v: v >= 0.0, "a number >= 0"),
}
assert _RULES.keys() == DEFAULT_HPARAMS.keys()  # one rule per knob, kept in step by hand


def resolve_hparams(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return :data:`DEFAULT_HPARAMS` updated with ``overrides``, validated and normalised.

    Values are coerced to plain Python types (numpy scalars and integral floats such as
    ``2.0`` become ``int``; ``0``/``1`` become ``bool`` for ``use_lstm``), so the result is
    JSON-serialisable. Inactive keys (``cnn_filters_2`` with two blocks, ``lstm_*`` without
    the LSTM, ``dense_*_1`` with one dense layer) are validated and kept, but ignored by
    :func:`build_model`.

    Args:
        overrides: Hyperparameters to change; ``None`` or ``{}`` gives the defaults.

    Returns:
        A new dict with every key of :data:`DEFAULT_HPARAMS`.

    Raises:
        HParamError: A key is unknown, or a value has the wrong type or is out of range.
    """
    overrides = dict(overrides or {})
    unknown = sorted(str(k) for k in overrides if k not in DEFAULT_HPARAMS)
    if unknown:
        raise HParamError(
            f"hyperparameters: unknown key(s) {', '.join(unknown)}; known keys are {', '.join(DEFAULT_HPARAMS)}"
        )
    resolved: dict[str, Any] = {}
    for key, default in DEFAULT_HPARAMS.items():
        value = overrides.get(key, default)
        coerce, check, rule = _RULES[key]
        try:
            normalised = coerce(value)
        except TypeError:
            normalised = None
        if normalised is None or not check(normalised):
            raise HParamError(f"hyperparameters: {key} must be {rule}, got {value!r}")
        resolved[key] = normalised
    return resolved


# --- model ----------------------------------------------------------------------------


def _optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    import keras

    factories = {
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "rmsprop": keras.optimizers.RMSprop,
    }
    return factories[name](learning_rate=learning_rate)


def _l2(hp: Mapping[str, Any]) -> Any:
    """The layers' L2 penalty, or None when ``l2`` is 0."""
    import keras

    return keras.regularizers.L2(hp["l2"]) if hp["l2"] > 0 else None


def _conv_blocks(x: Any, hp: Mapping[str, Any], *, length: int) -> Any:
    """``n_conv_blocks`` x [Conv1D(relu, "same") -> BatchNorm -> pooling -> dropout] over a sequence of ``length``."""
    from keras import layers

    pool_layer = {"max": layers.MaxPooling1D, "avg": layers.AveragePooling1D}.get(hp["pooling"])
    for i in range(hp["n_conv_blocks"]):
        x = layers.Conv1D(hp[f"cnn_filters_{i}"], hp["kernel_size"], padding="same", activation="relu",
                          kernel_regularizer=_l2(hp), name=f"conv_{i}")(x)
        x = layers.BatchNormalization(name=f"batch_norm_{i}")(x)
        # Short sequences (8 windows) cannot be halved three times: stop pooling at length 1.
        if pool_layer is not None and length >= 2:
            x = pool_layer(pool_size=2, name=f"pool_{i}")(x)
            length //= 2
        if hp["cnn_dropout"] > 0:
            x = layers.Dropout(hp["cnn_dropout"], name=f"conv_dropout_{i}")(x)
    return x


def _sequence_summary(x: Any, hp: Mapping[str, Any]) -> Any:
    """The sequence read by an LSTM, or averaged over time when ``use_lstm`` is false."""
    from keras import layers

    if hp["use_lstm"]:
        return layers.LSTM(hp["lstm_units"], dropout=hp["lstm_dropout"], recurrent_dropout=hp["lstm_recurrent_dropout"],
                           kernel_regularizer=_l2(hp), name="lstm")(x)
    return layers.GlobalAveragePooling1D(name="global_avg_pool")(x)


def _dense_head(x: Any, hp: Mapping[str, Any], n_classes: int) -> Any:
    """``n_dense_layers`` x [Dense(relu) -> dropout], then a softmax over ``n_classes``."""
    from keras import layers

    for i in range(hp["n_dense_layers"]):
        x = layers.Dense(hp[f"dense_units_{i}"], activation="relu", kernel_regularizer=_l2(hp), name=f"dense_{i}")(x)
        if hp[f"dense_dropout_{i}"] > 0:
            x = layers.Dropout(hp[f"dense_dropout_{i}"], name=f"dense_dropout_{i}")(x)
    return layers.Dense(n_classes, activation="softmax", name="emotion")(x)


def build_model(hparams: Mapping[str, Any], input_shape: tuple[int, ...], n_classes: int) -> keras.Model:
    """Build and compile the CNN + LSTM classifier.

    Layout: ``n_conv_blocks`` x [Conv1D(relu, "same") -> BatchNorm -> pooling -> dropout],
    then an LSTM (or global average pooling when ``use_lstm`` is false), then
    ``n_dense_layers`` x [Dense(relu) -> dropout], then a softmax over ``n_classes``.

    Args:
        hparams: Overrides of :data:`DEFAULT_HPARAMS` (resolved here, so partial dicts work).
        input_shape: ``(n_steps, n_features)`` for window sequences, or ``(n_features,)``
            for a flat feature table, which is read as a one-channel sequence.
        n_classes: Number of output classes (>= 2).

    Returns:
        A compiled ``keras.Model`` (sparse categorical cross-entropy, metric ``"accuracy"``).

    Raises:
        HParamError: A hyperparameter is unknown or invalid.
        DataError: ``input_shape`` or ``n_classes`` is unusable.
    """
    hp = resolve_hparams(hparams)
    shape = tuple(int(d) for d in input_shape)
    if len(shape) not in (1, 2) or min(shape) < 1:
        raise DataError(f"build_model: input_shape must be (n_features,) or (n_steps, n_features), got {input_shape!r}")
    if int(n_classes) < 2:
        raise DataError(f"build_model: n_classes must be >= 2, got {n_classes!r}")

    import keras
    from keras import layers

    inputs = keras.Input(shape=shape, name="features")
    x = inputs
    if len(shape) == 1:
        # A flat feature table: convolve along the feature axis as a 1-channel sequence.
        x = layers.Reshape((shape[0], 1), name="as_sequence")(x)
    x = _conv_blocks(x, hp, length=shape[0])
    x = _sequence_summary(x, hp)
    outputs = _dense_head(x, hp, int(n_classes))
    model = keras.Model(inputs, outputs, name="cnn_lstm" if hp["use_lstm"] else "cnn")
    model.compile(
        optimizer=_optimizer(hp["optimizer"], hp["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
