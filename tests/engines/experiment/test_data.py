"""Every command's data: the flags' dataset, validated and split with the test split carved off first."""

from __future__ import annotations

import pytest

from eeg.errors import InputError
from engines.experiment.data import load_experiment_dataset, prepare_experiment_data
from engines.experiment.settings import load_settings


def test_without_data_flags_the_run_is_refused_with_the_flags_to_give():
    with pytest.raises(InputError, match="--use-dummy-data, or --data PATH"):
        load_experiment_dataset(load_settings({}, None))


def test_the_same_flags_hold_out_the_same_test_split_and_describe_it():
    settings = load_settings({"use_dummy_data": True, "smoke_test": True}, None)
    one, two = prepare_experiment_data(settings), prepare_experiment_data(settings)
    assert (one.split.test == two.split.test).all() and len(one.split.test) > 0
    assert one.description.endswith("split=trial; split_seed=0")
    assert one.prepared.without_test().X_test is None and one.prepared.X_test is not None
