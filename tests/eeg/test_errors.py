"""The user's bad input is an InputError (exit 2, one line); data and hyperparameter errors are kinds of it."""

from __future__ import annotations

from eeg.errors import DataError, HParamError, InputError


def test_an_input_error_is_always_one_line():
    assert str(InputError("--name: bad\n  value")) == "--name: bad value"


def test_data_and_hyperparameter_errors_are_the_users_input():
    assert issubclass(DataError, InputError) and issubclass(HParamError, InputError)
    assert issubclass(InputError, ValueError)
