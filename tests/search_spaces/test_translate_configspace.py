"""The configspace translator (search_spaces/translate_configspace.py); every translator together: test_translators.py."""

from __future__ import annotations

import numpy as np
import pytest

from search_spaces import (
    SPACE,
    SearchSpace,
    SpaceError,
    apply_space_overrides,
    decode_config,
    decode_configspace,
    to_configspace,
)
from search_spaces.space import Categorical

N = 20


def test_configspace_searches_a_stepped_int_by_grid_index_so_every_grid_point_is_reachable():
    configspace = to_configspace(SPACE, seed=3)
    hyperparameter = configspace["cnn_filters_0__grid"]
    assert (hyperparameter.lower, hyperparameter.upper) == (0, 7)
    assert "cnn_filters_0" not in configspace
    draws = [decode_configspace(configspace.sample_configuration(), SPACE)["cnn_filters_0"] for _ in range(300)]
    assert sorted(set(draws)) == [32, 64, 96, 128, 160, 192, 224, 256]
    assert all(type(d) is int for d in draws)


def test_configspace_keeps_non_string_choices_and_decodes_them_to_plain_python():
    configspace = to_configspace(SPACE)
    assert list(configspace["batch_size"].choices) == [16, 32, 64]
    assert list(configspace["use_lstm"].choices) == [False, True]
    decoded = decode_configspace({"batch_size": np.int64(32), "use_lstm": np.bool_(True), "optimizer": np.str_("adam")},
                                 SPACE)
    assert decoded == {"batch_size": 32, "use_lstm": True, "optimizer": "adam"}
    assert [type(v) for v in decoded.values()] == [int, bool, str]


def test_configspace_conditions_read_the_parents_values():
    conditions = {str(c) for c in to_configspace(SPACE).conditions}
    assert "cnn_filters_1__grid | n_conv_blocks in {2, 3}" in conditions
    assert "cnn_filters_2__grid | n_conv_blocks == 3" in conditions
    assert "lstm_units__grid | use_lstm == True" in conditions


def test_configspace_leaves_out_a_parameter_whose_condition_a_narrowed_parent_can_never_meet():
    space = apply_space_overrides({"n_conv_blocks": {"low": 1, "high": 2}}, SPACE, where="two_blocks.yaml")
    configspace = to_configspace(space, seed=0)
    assert "cnn_filters_2__grid" not in configspace and "cnn_filters_1__grid" in configspace
    for _ in range(N):
        config = decode_configspace(configspace.sample_configuration(), space)
        space.validate_config(config)
        assert "cnn_filters_2" not in config


def test_configspace_refuses_choices_it_would_merge():
    space = SearchSpace("mixed", (Categorical("units", (1, True)),))
    with pytest.raises(SpaceError, match="ConfigSpace compares categorical choices with ==, so units's choices 1 and "
                                         "True would be one choice"):
        to_configspace(space)


def test_decode_configspace_is_idempotent_and_passes_foreign_keys_through():
    raw = {"cnn_filters_0__grid": np.int64(2), "learning_rate": 1e-3, "epochs": 4}
    decoded = decode_configspace(raw, SPACE)
    assert decoded == {"cnn_filters_0": 96, "learning_rate": 1e-3, "epochs": 4}
    assert decode_configspace(decoded, SPACE) == decoded
    assert decode_config(raw, SPACE) == decoded  # the one decode every trainable may call


@pytest.mark.parametrize(
    ("config", "message"),
    [({"cnn_filters_0": 64, "cnn_filters_0__grid": 1}, "cnn_filters_0 is given twice"),
     ({"cnn_filters_0__grid": 8}, "cnn_filters_0__grid=8 is outside the 8 grid points of cnn_filters_0"),
     ({"cnn_filters_0__grid": 1.5}, "cnn_filters_0__grid needs a whole-number grid index, got 1.5"),
     ({"n_conv_blocks__grid": 1}, "n_conv_blocks__grid does not match Int n_conv_blocks")],
)
def test_decode_configspace_rejects_a_config_that_is_not_of_the_space(config, message):
    with pytest.raises(SpaceError, match=message):
        decode_configspace(config, SPACE)
