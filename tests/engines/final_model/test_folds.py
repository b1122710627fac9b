"""verify --folds: the number of subject folds, or leave-one-subject-out."""

from __future__ import annotations

import pytest

from eeg.errors import InputError
from engines.experiment.settings import load_settings
from engines.final_model.folds import parse_folds, run_verify_folds


def test_folds_are_a_number_of_three_or_more_or_loso():
    assert parse_folds("5") == 5 and parse_folds(3) == 3
    assert parse_folds("loso") is None and parse_folds("Leave-One-Subject-Out") is None


@pytest.mark.parametrize("text", ["2", "-3", "five", ""])
def test_anything_else_is_refused_with_the_rule(text):
    with pytest.raises(InputError, match="--folds must be a whole number >= 3 or 'loso'"):
        parse_folds(text)


def test_folds_need_the_tuned_file():
    with pytest.raises(InputError, match="verify needs --hparams"):
        run_verify_folds(load_settings({"use_dummy_data": True}, None), None, folds="5", epochs=None, patience=5)
