"""The hyperopt translator (search_spaces/translate_hyperopt.py); every translator together: test_translators.py."""

from __future__ import annotations

import numpy as np

from search_spaces import SPACE, decode_hyperopt, to_hyperopt_space


def test_decode_hyperopt_turns_numpy_values_into_plain_python():
    decoded = decode_hyperopt({"cnn_filters_0": np.float64(64.0), "use_lstm": np.bool_(False)}, SPACE)
    assert decoded == {"cnn_filters_0": 64, "use_lstm": False}
    assert type(decoded["cnn_filters_0"]) is int and type(decoded["use_lstm"]) is bool


def test_hyperopt_integers_reach_both_ends_of_their_grid():
    from hyperopt.pyll import stochastic

    expr = to_hyperopt_space(SPACE)["n_conv_blocks"]
    draws = [stochastic.sample(expr, rng=np.random.default_rng(i)) for i in range(200)]
    assert set(draws) == {1, 2, 3}
    assert all(type(d) is int for d in draws)
