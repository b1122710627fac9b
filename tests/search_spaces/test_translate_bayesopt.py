"""The bayesopt translator (search_spaces/translate_bayesopt.py); every translator together: test_translators.py."""

from __future__ import annotations

import numpy as np
import pytest

from search_spaces import SPACE, decode_bayesopt, to_bayesopt_bounds


def test_the_bayesopt_box_gives_every_grid_point_an_equal_share():
    bounds = to_bayesopt_bounds(SPACE)
    lo, hi = bounds["n_conv_blocks"]
    xs = np.linspace(lo, hi, 30_001)
    counts = np.unique([decode_bayesopt({"n_conv_blocks": x}, SPACE)["n_conv_blocks"] for x in xs],
                       return_counts=True)
    assert list(counts[0]) == [1, 2, 3]
    assert counts[1].max() - counts[1].min() <= 2
    lo, hi = bounds["pooling__index"]
    assert (lo, hi) == (0.0, 3.0)
    picks = [decode_bayesopt({"pooling__index": x}, SPACE)["pooling"] for x in np.linspace(lo, hi, 7)]
    assert picks == ["max", "max", "avg", "avg", "none", "none", "none"]


def test_bayesopt_searches_log_parameters_in_log10_space():
    bounds = to_bayesopt_bounds(SPACE)
    assert bounds["learning_rate__log10"] == pytest.approx((-5.0, -2.0))
    assert bounds["l2__log10"] == pytest.approx((-6.0, -2.0))
    assert decode_bayesopt({"learning_rate__log10": -3.0}, SPACE)["learning_rate"] == pytest.approx(1e-3)
