"""What train and verify read first: the tuned file (the guide's schema), the epochs, and the split tuning held out."""

from __future__ import annotations

import json

import pytest

from eeg.errors import InputError
from engines.experiment.settings import load_settings
from engines.final_model.train import DEFAULT_EPOCHS, check_same_split, final_epochs, read_hparams_file


def tuned(tmp_path, **metadata):
    path = tmp_path / "best.json"
    path.write_text(json.dumps({"hyperparameters": {"lstm_units": 64}, "metadata": metadata}))
    return str(path)


def test_the_hyperparameters_block_is_read_and_no_file_means_the_defaults(tmp_path):
    assert read_hparams_file(tuned(tmp_path)) == {"lstm_units": 64}
    assert read_hparams_file(None) == {}


@pytest.mark.parametrize(("text", "message"), [(None, "not found"), ("{half", "could not parse it"),
                                               ('{"metadata": {}}', "needs a 'hyperparameters' object")])
def test_a_file_that_is_not_the_guides_json_is_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "best.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_hparams_file(str(path))


def test_another_split_than_tunings_is_refused_and_other_data_earns_a_note(tmp_path, capsys):
    path = tuned(tmp_path, split="subject", split_seed=0, data="elsewhere")
    with pytest.raises(InputError, match="--split subject"):
        check_same_split(path, load_settings({"split": "trial"}, None), "here")
    check_same_split(path, load_settings({"split": "subject"}, None), "here")
    assert "was tuned on 'elsewhere'" in capsys.readouterr().out


def test_epochs_default_to_forty_shrink_for_a_smoke_test_and_must_be_positive():
    assert final_epochs(load_settings({}, None), None, 5) == DEFAULT_EPOCHS
    assert final_epochs(load_settings({"smoke_test": True}, None), 30, 5) == 2
    with pytest.raises(InputError, match="--epochs must be >= 1"):
        final_epochs(load_settings({}, None), 0, 5)
    with pytest.raises(InputError, match="--patience"):
        final_epochs(load_settings({}, None), 3, -1)
