"""The synthetic EEG looks like EEG, carries the intended emotion effects and is reproducible."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import signal as sps

from eeg.errors import InputError
from eeg.features import band_power, feature_names
from eeg.synthetic import (
    DEAP_CHANNELS,
    DEFAULT_EMOTIONS,
    RawEEG,
    SyntheticConfig,
    generate_raw,
    make_dummy_dataset,
)

SMALL = SyntheticConfig(n_subjects=4, trials_per_class=3, trial_seconds=20.0, seed=3)


@pytest.fixture(scope="module")
def raw() -> RawEEG:
    return generate_raw(SMALL)


@pytest.fixture(scope="module")
def psd(raw: RawEEG) -> tuple[np.ndarray, np.ndarray]:
    return sps.welch(raw.signals, fs=raw.fs, nperseg=int(2 * raw.fs), axis=-1)


def _indices(*names: str) -> list[int]:
    return [DEAP_CHANNELS.index(n) for n in names]


def test_deap_channels_are_the_32_in_deap_order() -> None:
    assert len(DEAP_CHANNELS) == len(set(DEAP_CHANNELS)) == 32
    assert DEAP_CHANNELS[:4] == ("Fp1", "AF3", "F3", "F7") and DEAP_CHANNELS[-2:] == ("PO4", "O2")


def test_raw_has_one_balanced_block_of_trials_per_subject(raw: RawEEG) -> None:
    n_trials = 4 * 5 * 3
    assert raw.signals.shape == (n_trials, 32, int(20 * 128)) and raw.signals.dtype == np.float32
    assert raw.channel_names == DEAP_CHANNELS and raw.class_names == DEFAULT_EMOTIONS and raw.fs == 128.0
    for s in range(4):
        mine = raw.subject == s
        assert np.bincount(raw.labels[mine], minlength=5).tolist() == [3] * 5
        assert sorted(raw.trial[mine]) == list(range(15))
    assert np.isfinite(raw.signals).all()


def test_every_channel_has_a_std_of_tens_of_microvolts(raw: RawEEG) -> None:
    std = raw.signals.std(axis=-1)
    assert 5.0 < std.min() and std.max() < 100.0
    assert 10.0 < np.median(std) < 40.0


def test_the_spectrum_falls_off_like_one_over_f(raw: RawEEG, psd) -> None:
    freqs, power = psd
    band = (freqs >= 2) & (freqs <= 40)
    for trial_psd in power.mean(axis=1):  # channel-averaged PSD of every trial
        slope = np.polyfit(np.log10(freqs[band]), np.log10(trial_psd[band]), 1)[0]
        assert -2.5 < slope < -0.5


def test_each_subject_has_an_occipital_alpha_peak_near_10_hz(raw: RawEEG, psd) -> None:
    freqs, power = psd
    window = (freqs >= 7) & (freqs <= 14)
    occipital = _indices("O1", "Oz", "O2", "PO3", "PO4")
    for s in range(4):
        spectrum = power[raw.subject == s][:, occipital].mean(axis=(0, 1))
        assert 8.5 <= freqs[window][np.argmax(spectrum[window])] <= 11.5
        assert spectrum[window].max() > 2 * spectrum[(freqs >= 15) & (freqs <= 20)].mean()


def test_alpha_is_stronger_at_the_back_than_at_the_front(raw: RawEEG) -> None:
    alpha = band_power(raw.signals, raw.fs)[..., 2]
    assert alpha[:, _indices("O1", "Oz", "O2")].mean() > alpha[:, _indices("F3", "Fz", "F4")].mean() + 0.3


def test_blinks_make_fp1_and_fp2_the_largest_delta_channels(raw: RawEEG) -> None:
    delta = band_power(raw.signals, raw.fs)[..., 0].mean(axis=0)
    assert set(np.argsort(delta)[-2:]) == set(_indices("Fp1", "Fp2"))


def test_positive_valence_has_more_right_than_left_frontal_alpha(raw: RawEEG) -> None:
    alpha = band_power(raw.signals, raw.fs)[..., 2]
    asymmetry = alpha[:, _indices("F4", "F8", "AF4")].mean(1) - alpha[:, _indices("F3", "F7", "AF3")].mean(1)
    by_class = {name: asymmetry[raw.labels == k].mean() for k, name in enumerate(raw.class_names)}
    positive = (by_class["happy"] + by_class["calm"]) / 2
    negative = (by_class["sad"] + by_class["angry"]) / 2
    assert positive > by_class["neutral"] > negative
    assert positive - negative > 0.1  # log10 units: > 25% more right alpha


def test_high_arousal_has_a_higher_beta_to_alpha_ratio(raw: RawEEG) -> None:
    power = band_power(raw.signals, raw.fs)
    ratio = (power[..., 3] - power[..., 2]).mean(axis=1)
    by_class = {name: ratio[raw.labels == k].mean() for k, name in enumerate(raw.class_names)}
    assert min(by_class["happy"], by_class["angry"]) > max(by_class["calm"], by_class["sad"])


def test_effects_shrink_as_difficulty_grows() -> None:
    gaps = []
    for difficulty in (0.0, 1.0):
        raw = generate_raw(dataclasses.replace(SMALL, trial_seconds=10.0, difficulty=difficulty))
        alpha = band_power(raw.signals, raw.fs)[..., 2]
        asymmetry = alpha[:, _indices("F4")].ravel() - alpha[:, _indices("F3")].ravel()
        valence = raw.labels < 2  # happy, calm vs sad, angry
        gaps.append(asymmetry[valence].mean() - asymmetry[(raw.labels == 2) | (raw.labels == 3)].mean())
    assert gaps[0] > 2 * gaps[1]


def test_the_same_seed_gives_the_same_eeg_and_another_seed_does_not() -> None:
    config = SyntheticConfig(n_subjects=2, trials_per_class=1, trial_seconds=4.0, seed=11)
    first, again = generate_raw(config), generate_raw(config)
    np.testing.assert_array_equal(first.signals, again.signals)
    np.testing.assert_array_equal(first.labels, again.labels)
    other = generate_raw(dataclasses.replace(config, seed=12))
    assert np.abs(first.signals - other.signals).mean() > 1.0


def test_adding_subjects_leaves_the_existing_ones_unchanged() -> None:
    config = SyntheticConfig(n_subjects=2, trials_per_class=1, trial_seconds=4.0, seed=5)
    two = generate_raw(config)
    three = generate_raw(dataclasses.replace(config, n_subjects=3))
    np.testing.assert_array_equal(two.signals, three.signals[: len(two.signals)])


def test_custom_class_names_give_that_many_balanced_classes() -> None:
    config = SyntheticConfig(n_subjects=1, trials_per_class=2, trial_seconds=4.0, class_names=("low", "mid", "high"))
    raw = generate_raw(config)
    assert raw.class_names == ("low", "mid", "high")
    assert np.bincount(raw.labels).tolist() == [2, 2, 2]
    assert config.affect.shape == (3, 2)


@pytest.mark.parametrize(
    "field, value",
    [("difficulty", 1.5), ("n_subjects", 0), ("trials_per_class", 1.5), ("trial_seconds", 0.0), ("fs", 64.0),
     ("class_names", ("one",)), ("class_names", ("a", "a")), ("seed", -1)],
)  # fmt: skip
def test_a_bad_config_raises_an_input_error_naming_the_field(field: str, value) -> None:
    with pytest.raises(InputError, match=field):
        SyntheticConfig(**{field: value})


def test_make_dummy_dataset_smoke_test_is_small_balanced_and_labelled() -> None:
    pytest.importorskip("eeg.loaders")
    ds = make_dummy_dataset(smoke_test=True)
    n_features = len(feature_names(DEAP_CHANNELS))
    # 3 subjects x 5 classes x 2 trials of 12 s: 11 windows -> one 8-step sequence per trial.
    assert ds.X.shape == (30, 8, n_features) and ds.X.dtype == np.float32
    assert ds.y.dtype == ds.subject.dtype == ds.trial.dtype == np.int64
    assert np.bincount(ds.y).tolist() == [6] * 5
    assert sorted(set(ds.subject.tolist())) == [0, 1, 2]
    assert ds.class_names == DEFAULT_EMOTIONS
    assert ds.source == "synthetic(seed=0, difficulty=0.5, smoke test)"
    assert np.isfinite(ds.X).all()


def test_make_dummy_dataset_flat_rows_carry_their_trial_labels() -> None:
    pytest.importorskip("eeg.loaders")
    config = SyntheticConfig(n_subjects=2, trials_per_class=1, trial_seconds=6.0, seed=4)
    ds = make_dummy_dataset(config, representation="flat")
    raw = generate_raw(config)
    assert ds.X.shape == (len(raw.labels) * 5, len(feature_names(DEAP_CHANNELS)))
    for s, t, label in zip(raw.subject, raw.trial, raw.labels):
        rows = (ds.subject == s) & (ds.trial == t)
        assert rows.sum() == 5 and (ds.y[rows] == label).all()
    np.testing.assert_array_equal(ds.X, make_dummy_dataset(config, representation="flat").X)
