"""The space dataclasses (search_spaces/space.py): ranges, grids, conditions and config validation."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from eeg.errors import InputError
from search_spaces.cnn_lstm import SPACE
from search_spaces.space import (
    Bool,
    Categorical,
    Condition,
    Float,
    Int,
    SearchSpace,
    SpaceError,
    coerce_value,
)


@pytest.mark.parametrize(
    ("config", "active", "inactive"),
    [
        ({"n_conv_blocks": 1, "use_lstm": False, "n_dense_layers": 1}, set(),
         {"cnn_filters_1", "cnn_filters_2", "lstm_units", "lstm_dropout", "dense_units_1", "dense_dropout_1"}),
        ({"n_conv_blocks": 2, "use_lstm": True, "n_dense_layers": 2},
         {"cnn_filters_1", "lstm_units", "lstm_dropout", "lstm_recurrent_dropout", "dense_units_1"}, {"cnn_filters_2"}),
        ({"n_conv_blocks": 3, "use_lstm": True, "n_dense_layers": 1}, {"cnn_filters_1", "cnn_filters_2"},
         {"dense_units_1", "dense_dropout_1"}),
    ],
)
def test_conditional_parameters_are_active_only_when_their_parent_allows(config, active, inactive):
    names = set(SPACE.active_names(config))
    assert active <= names
    assert not inactive & names
    assert {"learning_rate", "cnn_filters_0", "dense_units_0", "l2"} <= names


def test_a_float_whose_low_is_not_below_high_is_rejected_with_both_values():
    with pytest.raises(SpaceError, match=r"search space 's': lr needs low < high, got low=0.1, high=0.01"):
        SearchSpace("s", (Float("lr", 0.1, 0.01),))


def test_a_log_range_needs_a_positive_low():
    with pytest.raises(SpaceError, match="l2 with log=true needs low > 0, got low=0.0"):
        SearchSpace("s", (Float("l2", 0.0, 1.0, log=True),))


def test_an_int_grid_must_start_and_end_on_multiples_of_its_step():
    with pytest.raises(SpaceError, match="units needs low and high to be multiples of step.*low=16, high=100, step=32"):
        SearchSpace("s", (Int("units", 16, 100, step=32),))


@pytest.mark.parametrize("step", [0, -32, 2.5])
def test_an_int_step_must_be_a_positive_integer(step):
    with pytest.raises(SpaceError, match="units needs an integer step > 0"):
        SearchSpace("s", (Int("units", 32, 256, step=step),))


def test_a_log_int_needs_step_one():
    with pytest.raises(SpaceError, match="units with log=true needs step=1, got step=2"):
        SearchSpace("s", (Int("units", 2, 256, step=2, log=True),))


def test_int_bounds_must_be_integers():
    with pytest.raises(SpaceError, match=r"units.low must be an integer, got 1.5"):
        SearchSpace("s", (Int("units", 1.5, 4),))


def test_a_condition_on_a_later_or_unknown_parameter_is_rejected():
    child = Int("b", 1, 4, when=Condition("a", (True,)))
    with pytest.raises(SpaceError, match="b is conditional on 'a', which must be defined before it"):
        SearchSpace("s", (child, Bool("a")))
    with pytest.raises(SpaceError, match="defined so far: none"):
        SearchSpace("s", (child,))


def test_a_condition_on_a_float_is_rejected():
    with pytest.raises(SpaceError, match="conditions need an Int, Categorical or Bool parent"):
        SearchSpace("s", (Float("a", 0, 1), Int("b", 1, 4, when=Condition("a", (0.5,)))))


def test_a_repeated_name_is_rejected():
    with pytest.raises(SpaceError, match="parameter a is defined twice"):
        SearchSpace("s", (Bool("a"), Bool("a")))


@pytest.mark.parametrize(
    ("choices", "message"),
    [((), "needs a non-empty list of choices"), ((1, 1), "must be unique"), (([1],), "must be numbers, strings")],
)
def test_categorical_choices_must_be_non_empty_unique_scalars(choices, message):
    with pytest.raises(SpaceError, match=message):
        SearchSpace("s", (Categorical("c", choices),))


def test_true_and_one_are_different_choices():
    space = SearchSpace("s", (Categorical("c", (1, True)),))
    assert space["c"].contains(True) and space["c"].contains(1)
    assert not SPACE["batch_size"].contains(16.0)


@pytest.mark.parametrize(
    ("key", "value"),
    [("n_conv_blocks", True), ("n_conv_blocks", 2.0), ("n_conv_blocks", 4), ("cnn_filters_0", 33),
     ("use_lstm", 1), ("optimizer", "sgd"), ("learning_rate", 0.5), ("learning_rate", "1e-3"), ("epochs", 3)],
)
def test_validate_config_rejects_wrong_types_out_of_range_values_and_unknown_keys(key, value):
    config = {"n_conv_blocks": 1, "use_lstm": False, "n_dense_layers": 1, "learning_rate": 1e-3,
              "batch_size": 32, "optimizer": "adam", "cnn_filters_0": 64, "kernel_size": 3, "pooling": "max",
              "cnn_dropout": 0.1, "dense_units_0": 64, "dense_dropout_0": 0.2, "l2": 1e-4}
    SPACE.validate_config(config)
    with pytest.raises(SpaceError, match=key):
        SPACE.validate_config({**config, key: value})


def test_validate_config_rejects_a_missing_active_parameter():
    with pytest.raises(SpaceError, match="active parameters missing: .*lstm_units"):
        SPACE.validate_config({"use_lstm": True})


def test_space_error_is_an_input_error_so_the_cli_exits_with_code_2():
    assert issubclass(SpaceError, InputError)


def test_coerce_value_rounds_onto_the_int_grid_and_clips_numbers_into_range():
    assert coerce_value(SPACE["cnn_filters_0"], np.float64(111.0)) == 96
    assert type(coerce_value(SPACE["cnn_filters_0"], np.int64(64))) is int
    assert coerce_value(SPACE["cnn_filters_0"], 1000) == 256
    assert coerce_value(SPACE["learning_rate"], 0.010000000000000002) == 0.01
    assert coerce_value(SPACE["use_lstm"], np.bool_(True)) is True
    assert coerce_value(SPACE["pooling"], np.str_("avg")) == "avg"
    with pytest.raises(SpaceError, match="optimizer='sgd' is outside"):
        coerce_value(SPACE["optimizer"], "sgd")
    with pytest.raises(SpaceError, match="needs a number"):
        coerce_value(SPACE["cnn_dropout"], "0.1")


def test_importing_search_spaces_loads_no_tuning_library():
    code = (
        "import sys, search_spaces; "
        "print(sorted(m for m in ('ray', 'optuna', 'hyperopt', 'bayes_opt', 'keras_tuner', 'tensorflow', "
        "'keras', 'eeg.model') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
