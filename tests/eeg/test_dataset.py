"""The one container every EEG source is turned into, and the rules validate_dataset holds it to."""

from __future__ import annotations

import numpy as np
import pytest

from eeg.dataset import REPRESENTATIONS, EEGDataset, validate_dataset
from eeg.errors import DataError


def dataset(**changes) -> EEGDataset:
    values = {"X": np.zeros((6, 3), np.float32), "y": np.array([0, 1, 0, 1, 0, 1]), "subject": np.array([0] * 3 + [1] * 3),
              "trial": np.array([0, 0, 1, 0, 1, 1]), "class_names": ("calm", "happy"), "source": "made"}
    return EEGDataset(**{**values, **changes})


def test_a_recording_is_one_subject_and_trial_pair():
    ds = dataset()
    assert ds.n_classes == 2 and len(set(ds.groups)) == 4
    assert REPRESENTATIONS == ("sequence", "flat")


def test_a_valid_dataset_passes():
    validate_dataset(dataset(), "made")


@pytest.mark.parametrize(("changes", "rule"), [
    ({"X": np.zeros((6,), np.float32)}, "X must be 2-D"),
    ({"y": np.array([0, 1, 0, 1, 0])}, "same length"),
    ({"X": np.full((6, 3), np.nan, np.float32)}, "NaN"),
])
def test_a_broken_rule_is_one_line_naming_the_source_and_the_rule(changes, rule):
    with pytest.raises(DataError, match=rule) as error:
        validate_dataset(dataset(**changes), "made.npz")
    assert str(error.value).startswith("made.npz: ") and "\n" not in str(error.value)
