"""Settings layers refuse what they cannot use; the shared writer keeps files whole and readable."""

from __future__ import annotations


import pytest

from eeg.errors import InputError
from engines.experiment.settings import DEFAULTS, load_settings, parse_duration, parse_memory
from engines.tune.run import settings_for_experiment

RAY_KEYS = ("searcher", "scheduler", "max_trials", "max_epochs")


@pytest.mark.parametrize(("text", "seconds"), [("8h", 28800), ("1h30m", 5400), ("45m", 2700), ("600", 600)])
def test_a_time_budget_reads_as_people_write_it(text, seconds):
    assert parse_duration(text) == seconds


def test_memory_reads_with_binary_units():
    assert parse_memory("2G") == 2 * 2**30 and parse_memory("512M") == 512 * 2**20


def test_flags_override_the_file_which_overrides_the_defaults(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("max_trials: 40\nsearcher: hyperopt\n")
    resolved = load_settings({"max_trials": 7, "searcher": None}, config)
    assert resolved.max_trials == 7 and resolved.searcher == "hyperopt"
    assert resolved.scheduler == DEFAULTS["scheduler"]


def test_resume_takes_the_experiments_own_settings_for_flags_left_at_their_defaults():
    saved = {"searcher": "bayesopt", "max_trials": 5, "max_epochs": 2}
    settings = load_settings({"resume": True, "name": "e1"})
    merged = settings_for_experiment(settings, saved, RAY_KEYS)
    assert (merged.searcher, merged.max_trials, merged.max_epochs) == ("bayesopt", 5, 2)


def test_resume_refuses_a_flag_that_would_change_the_experiment():
    saved = {"searcher": "bayesopt"}
    settings = load_settings({"resume": True, "name": "e1", "searcher": "hyperopt"})
    with pytest.raises(InputError, match="was run with --searcher 'bayesopt', got 'hyperopt'"):
        settings_for_experiment(settings, saved, RAY_KEYS)


def test_checkpoint_every_defaults_to_auto_takes_a_whole_number_and_refuses_anything_else():
    assert load_settings({}).checkpoint_every == "auto"
    assert load_settings({"checkpoint_every": 1}).checkpoint_every == 1
    assert load_settings({"checkpoint_every": "3"}).checkpoint_every == 3  # as the flag arrives
    for bad in (0, "sometimes", "-1"):
        with pytest.raises(InputError, match="--checkpoint-every must be 'auto' or a whole number >= 1, got "):
            load_settings({"checkpoint_every": bad})


def test_pending_timeout_defaults_to_fifteen_minutes_and_reads_as_a_duration(tmp_path):
    assert load_settings({}).pending_timeout_s == 900
    assert load_settings({"pending_timeout": "1h"}).pending_timeout_s == 3600
    config = tmp_path / "run.yaml"
    config.write_text("pending_timeout: 90\n")
    settings = load_settings({}, config)
    assert settings.pending_timeout_s == 90 and "pending_timeout" in settings.given
    with pytest.raises(InputError, match="--pending-timeout: a duration looks like"):
        load_settings({"pending_timeout": "a while"})


@pytest.mark.parametrize(("key", "value"), [("cpus_per_trial", float("inf")), ("gpus_per_trial", float("nan")),
                                            ("gpus_per_trial", -1.0)])
def test_a_resource_request_that_is_not_a_finite_number_is_refused(key, value):
    with pytest.raises(InputError, match=f"--{key.replace('_', '-')} must be"):
        load_settings({key: value})
