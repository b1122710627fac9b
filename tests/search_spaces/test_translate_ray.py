"""The ray translator (search_spaces/translate_ray.py); every translator together: test_translators.py."""

from __future__ import annotations

import numpy as np
import pytest

from search_spaces import SPACE, SpaceError, decode_config, to_ray_grid


def test_a_grid_over_a_wide_int_picks_evenly_spaced_grid_points():
    grid = to_ray_grid(SPACE, axes=("dense_units_0", "cnn_dropout"), points_per_axis=4)
    assert grid["dense_units_0"] == {"grid_search": [32, 192, 352, 512]}
    assert grid["cnn_dropout"] == {"grid_search": [0.0, 0.167, 0.333, 0.5]}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"axes": ("lr",)}, "grid axis 'lr' is not a parameter; valid names: learning_rate"),
     ({"axes": ()}, "at least one axis"),
     ({"axes": ("l2", "l2")}, "repeat a name"),
     ({"points_per_axis": 1}, "points_per_axis >= 2, got 1")],
)
def test_a_bad_grid_request_is_rejected_with_its_value(kwargs, message):
    with pytest.raises(SpaceError, match=message):
        to_ray_grid(SPACE, **kwargs)


def test_decode_config_passes_foreign_keys_through_and_is_idempotent():
    point = {"learning_rate__log10": np.float64(-3.5), "use_lstm__index": 1.2, "epochs": 7}
    decoded = decode_config(point, SPACE)
    assert decoded == {"learning_rate": pytest.approx(10**-3.5), "use_lstm": True, "epochs": 7}
    assert type(decoded["learning_rate"]) is float
    assert decode_config(decoded, SPACE) == decoded


def test_decode_config_rejects_a_parameter_given_both_encoded_and_plain():
    with pytest.raises(SpaceError, match="learning_rate is given twice"):
        decode_config({"learning_rate": 1e-3, "learning_rate__log10": -3.0}, SPACE)
