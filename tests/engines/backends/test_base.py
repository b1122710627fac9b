"""What every backend shares: the one list of Ray-only flags, the note on ignored flags, the method -> backend map."""

from __future__ import annotations

import pytest

from engines.backends import BACKENDS, backend_for
from engines.backends.base import RAY_ONLY, no_session, note_ignored
from engines.experiment.settings import DEFAULTS, METHODS, load_settings


def test_every_method_has_a_backend_that_says_what_it_is():
    assert set(BACKENDS) == set(METHODS)
    for method in ("optuna", "keras-tuner"):  # importing the Ray one starts nothing either, but imports Ray
        backend = backend_for(method)
        assert backend.method == method and backend.on_existing in ("refuse", "continue")
        assert set(backend.same_on_resume) <= set(DEFAULTS)


def test_the_ray_only_flags_are_settings():
    assert set(RAY_ONLY) <= set(DEFAULTS)


def test_a_flag_set_away_from_its_default_that_the_engine_ignores_earns_one_note(capsys):
    settings = load_settings({"cpus_per_trial": 2.0, "max_failures": 3}, None)  # 3 is the default: no note
    note_ignored(settings, RAY_ONLY, "--method optuna runs on this machine without Ray")
    assert capsys.readouterr().out == ("note: --method optuna runs on this machine without Ray; "
                                       "ignoring --cpus-per-trial\n")


def test_the_session_of_an_engine_that_needs_nothing_up_is_empty():
    with no_session(load_settings({}, None)):
        pass


@pytest.mark.parametrize("method", ["optuna", "keras-tuner"])
def test_a_single_machine_engine_notes_the_ray_only_flags_it_ignores(method, capsys):
    backend_for(method).check(load_settings({"method": method, "address": "auto"}, None))
    assert "ignoring --address" in capsys.readouterr().out
