"""Preprocessing as tunable choices (``eeg.pipeline``): the defaults are the seed's features, every choice changes
what it says, and a choice the data cannot support is refused with the parameter, its value and the limit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from eeg.errors import InputError
from eeg.features import feature_names
from eeg.pipeline import BAND_PRESETS, Preprocessing, check_preprocessing, featurize_recordings
from eeg.synthetic import DEAP_CHANNELS, SyntheticConfig, generate_raw, make_dummy_dataset

SMOKE = SyntheticConfig(n_subjects=3, trials_per_class=2, trial_seconds=12.0)


@pytest.fixture(scope="module")
def raw():
    return generate_raw(SMOKE)


def test_the_default_preprocessing_makes_exactly_the_network_only_paths_features(raw):
    mine = featurize_recordings(raw, Preprocessing())
    seed = make_dummy_dataset(smoke_test=True)
    np.testing.assert_array_equal(mine.X, seed.X)
    for name in ("y", "subject", "trial"):
        np.testing.assert_array_equal(getattr(mine, name), getattr(seed, name))


@pytest.mark.parametrize(("feature_set", "kinds"), [("de", ("de",)), ("band_power", ("power",)),
                                                    ("asymmetry", ("asym",)), ("de+asymmetry", ("de", "asym"))])
@pytest.mark.parametrize("band_preset", ["classic", "fine"])
def test_a_feature_set_and_band_preset_give_exactly_their_columns(raw, feature_set, kinds, band_preset):
    dataset = featurize_recordings(raw, Preprocessing(feature_set=feature_set, band_preset=band_preset))
    names = feature_names(DEAP_CHANNELS, bands=BAND_PRESETS[band_preset], kinds=kinds)
    assert dataset.X.shape[-1] == len(names)
    full = featurize_recordings(raw, Preprocessing(band_preset=band_preset))
    all_names = feature_names(DEAP_CHANNELS, bands=BAND_PRESETS[band_preset])
    columns = [all_names.index(name) for name in names]
    np.testing.assert_allclose(dataset.X, full.X[..., columns], rtol=1e-6)


def test_windows_overlap_and_sequence_length_set_the_sequence_shape(raw):
    prep = Preprocessing(window_s=1.0, overlap=0.0, n_steps=4)
    dataset = featurize_recordings(raw, prep)
    assert dataset.X.shape[1] == 4
    windows = 12  # 12 s recordings, 1 s windows, no overlap
    per_recording = (windows - 4) // 2 + 1  # sequences share half their windows
    assert len(dataset.y) == per_recording * len(raw.labels)


def test_per_subject_standardisation_centres_and_scales_each_subject_on_its_own(raw):
    dataset = featurize_recordings(raw, Preprocessing(subject_norm="per_subject"))
    for subject in np.unique(dataset.subject):
        flat = dataset.X[dataset.subject == subject].reshape(-1, dataset.X.shape[-1]).astype(np.float64)
        np.testing.assert_allclose(flat.mean(axis=0), 0.0, atol=1e-4)
        np.testing.assert_allclose(flat.std(axis=0), 1.0, atol=1e-3)


@pytest.mark.parametrize(("prep", "fs", "message"), [
    (Preprocessing(window_s=16.0), 128.0, "window_s=16 is longer than the shortest recording (12 s)"),
    (Preprocessing(n_steps=12), 128.0, "n_steps=12 windows of 2 s every 1 s span 13 s; the shortest recording "
                                       "(12 s) holds at most 11"),
    (Preprocessing(), 80.0, "band_preset='classic' has a band edge at 45 Hz, at or above the Nyquist frequency 40 Hz"),
    (Preprocessing(overlap=1.0), 128.0, "overlap=1.0 must be in [0, 1)"),
    (Preprocessing(feature_set="wavelets"), 128.0, "feature_set='wavelets' is not one of all, de"),
])
def test_a_preprocessing_the_data_cannot_support_is_refused_with_its_limit(prep, fs, message):
    with pytest.raises(InputError, match=None) as caught:
        check_preprocessing(prep, fs, int(12 * fs), "data.npz")
    assert str(caught.value).startswith("data.npz: ") and message in str(caught.value), str(caught.value)


def test_featurizing_checks_first_and_computes_nothing_it_cannot_use(raw):
    with pytest.raises(InputError, match="window_s=16"):
        featurize_recordings(raw, replace(Preprocessing(), window_s=16.0))
