"""What a pipeline trial receives (``eeg.pipeline_data``): no test recording, the experiment's split kept per
recording whatever windows a trial cuts, sequences cut to fit, and a space value no trial could use refused."""

from __future__ import annotations

import numpy as np
import pytest

from eeg.classical import fit_classical
from eeg.errors import InputError
from eeg.pipeline import Preprocessing
from eeg.pipeline_data import check_space_values, tuning_recordings
from eeg.splits import make_split
from eeg.synthetic import SyntheticConfig, generate_raw, make_dummy_dataset
from search_spaces import apply_space_overrides
from search_spaces.pipeline import SPACE

SMOKE = SyntheticConfig(n_subjects=3, trials_per_class=2, trial_seconds=12.0)


@pytest.fixture(scope="module", params=["trial", "subject"])
def setup(request):
    dataset = make_dummy_dataset(smoke_test=True)
    split = make_split(dataset, request.param, seed=0)
    return dataset, split, tuning_recordings(generate_raw(SMOKE), dataset.subject, dataset.trial, split)


def _pairs(dataset, indices):
    return {(int(dataset.subject[i]), int(dataset.trial[i])) for i in indices}


def test_the_test_recordings_never_reach_a_trial(setup):
    dataset, split, recordings = setup
    kept = set(zip(recordings.raw.subject.tolist(), recordings.raw.trial.tolist()))
    assert kept == _pairs(dataset, split.train) | _pairs(dataset, split.val)
    assert not kept & _pairs(dataset, split.test)


@pytest.mark.parametrize("prep", [Preprocessing(), Preprocessing(window_s=1.0, overlap=0.75, n_steps=4)])
def test_any_windowing_keeps_each_recording_on_its_experiment_side(setup, prep, tmp_path):
    dataset, split, recordings = setup
    data, _ = recordings.prepared(prep, cache_dir=tmp_path)
    assert data.X_test is None and data.input_shape[0] == prep.n_steps
    assert len(data.y_train) + len(data.y_val) > 0
    # Same recordings per side as the experiment's split of the default windows.
    n_train_recordings = len(_pairs(dataset, split.train))
    per_recording = len(data.y_train) / n_train_recordings
    assert per_recording == int(per_recording)


def test_a_sequence_longer_than_the_shortest_recording_is_cut_to_fit(setup):
    _, _, recordings = setup
    fitted = recordings.fitted(Preprocessing(window_s=4.0, overlap=0.0, n_steps=12))
    assert fitted.n_steps == 3  # 12 s recordings hold three 4 s windows
    assert recordings.fitted(Preprocessing()).n_steps == 8


def test_the_built_in_space_fits_smoke_data_and_an_impossible_value_is_refused_before_any_trial(setup):
    _, _, recordings = setup
    check_space_values(SPACE, recordings)
    wide = apply_space_overrides({"window_s": {"choices": [2.0, 16.0]}}, SPACE, where="wide.yaml")
    with pytest.raises(InputError) as caught:
        check_space_values(wide, recordings)
    assert str(caught.value) == "wide.yaml: window_s=16 is longer than the shortest recording (12 s)"


@pytest.mark.parametrize(("family", "params"), [("svm", {"svm_C": 10.0, "svm_gamma": 1e-3}),
                                                ("logreg", {"logreg_C": 1.0})])
def test_a_classical_family_fits_on_train_and_scores_on_validation(setup, family, params, tmp_path):
    _, _, recordings = setup
    data, _ = recordings.prepared(Preprocessing(feature_set="de"), cache_dir=tmp_path)
    model, accuracy, fit_s = fit_classical(family, params, data.X_train, data.y_train, data.X_val, data.y_val)
    assert 0.0 <= accuracy <= 1.0 and fit_s >= 0
    assert len(model.predict(data.X_val.mean(axis=1))) == len(data.y_val)
    assert accuracy == pytest.approx(np.mean(model.predict(data.X_val.mean(axis=1)) == data.y_val))
