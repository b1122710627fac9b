"""The keras_tuner translator (search_spaces/translate_keras_tuner.py); every translator together: test_translators.py."""

from __future__ import annotations

import pytest

from search_spaces import SPACE, SearchSpace, SpaceError, build_keras_tuner_hparams
from search_spaces.space import Categorical


def test_keras_tuner_starts_from_the_given_defaults_where_they_lie_in_the_space():
    kt = pytest.importorskip("keras_tuner")
    hp = kt.HyperParameters()
    config = build_keras_tuner_hparams(
        hp, SPACE, defaults={"learning_rate": 1e-3, "cnn_filters_0": 64, "optimizer": "adamw", "l2": 0.0}
    )
    assert config["learning_rate"] == 1e-3 and config["cnn_filters_0"] == 64 and config["optimizer"] == "adamw"
    assert config["l2"] == 1e-6  # 0.0 is outside the log range, so Keras Tuner's own default applies


def test_keras_tuner_rejects_a_categorical_mixing_value_types():
    kt = pytest.importorskip("keras_tuner")
    space = SearchSpace("mixed", (Categorical("units", (16, "auto")),))
    with pytest.raises(SpaceError, match="Keras Tuner's Choice needs one value type, units mixes int, str"):
        build_keras_tuner_hparams(kt.HyperParameters(), space)
