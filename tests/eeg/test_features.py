"""Band power, differential entropy, asymmetry and windowing, checked against analytic signals."""

from __future__ import annotations

import numpy as np
import pytest

from eeg.errors import InputError
from eeg.features import (
    BANDS,
    FRONTAL_PAIRS,
    band_power,
    differential_entropy,
    feature_names,
    featurize_trials,
    to_sequences,
    window_features,
)

FS = 128.0
BAND_NAMES = list(BANDS)


def _sine(freq: float, seconds: float, amplitude: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    return amplitude * np.sin(2 * np.pi * freq * t)


@pytest.mark.parametrize(
    "freq, band", [(2.5, "delta"), (6.0, "theta"), (10.0, "alpha"), (20.0, "beta"), (40.0, "gamma")]
)
def test_a_sine_puts_its_power_in_its_band(freq: float, band: str) -> None:
    power = band_power(_sine(freq, 2.0), FS)
    assert power.shape == (5,)
    assert BAND_NAMES[int(np.argmax(power))] == band


def test_a_10_hz_sine_puts_its_power_in_alpha_with_the_right_total() -> None:
    amplitude = 20.0
    power = band_power(_sine(10.0, 4.0, amplitude), FS)
    assert BAND_NAMES[int(np.argmax(power))] == "alpha"
    # A sine's power is A^2 / 2; all of it lands in alpha.
    assert power[BAND_NAMES.index("alpha")] == pytest.approx(np.log10(amplitude**2 / 2), abs=0.05)
    assert power[BAND_NAMES.index("alpha")] - np.delete(power, 2).max() > 3  # > 1000x any other band


def test_band_power_keeps_leading_axes() -> None:
    windows = np.random.default_rng(0).standard_normal((3, 4, 256))
    assert band_power(windows, FS).shape == (3, 4, 5)
    assert differential_entropy(windows, FS).shape == (3, 4, 5)


def test_the_de_of_white_gaussian_noise_matches_its_band_share_of_the_variance() -> None:
    sigma = 7.0
    noise = np.random.default_rng(1).normal(0.0, sigma, (4, int(120 * FS)))
    de = differential_entropy(noise, FS).mean(axis=0)
    for i, (lo, hi) in enumerate(BANDS.values()):
        band_var = sigma**2 * (hi - lo) / (FS / 2)  # white noise spreads its variance evenly up to Nyquist
        # 0.1 nats = the zero-phase Butterworth's effective bandwidth (~90% of the nominal band) plus estimation noise.
        assert de[i] == pytest.approx(0.5 * np.log(2 * np.pi * np.e * band_var), abs=0.1)


def test_doubling_the_amplitude_adds_log_2_to_every_de() -> None:
    noise = np.random.default_rng(2).standard_normal((2, 512))
    gain = differential_entropy(2 * noise, FS) - differential_entropy(noise, FS)
    np.testing.assert_allclose(gain, np.log(2), atol=1e-6)


def test_feature_names_for_deap_channels_are_350_unique_names() -> None:
    from eeg.synthetic import DEAP_CHANNELS

    names = feature_names(DEAP_CHANNELS)
    assert len(names) == 32 * 5 * 2 + len(FRONTAL_PAIRS) * 5 == 350
    assert len(set(names)) == len(names)
    assert names[:2] == ["Fp1_delta_power", "Fp1_theta_power"]
    assert "F4-F3_alpha_asym" in names


def test_asymmetry_is_only_made_for_pairs_present_matched_case_insensitively() -> None:
    assert [n for n in feature_names(["FP1", "FP2", "Cz"]) if n.endswith("_asym")] == [
        f"FP2-FP1_{band}_asym" for band in BANDS
    ]
    assert not [n for n in feature_names(["F3", "Cz", "O1"]) if n.endswith("_asym")]


def test_window_features_has_one_row_per_window_and_one_column_per_name() -> None:
    channels = ["F3", "F4", "Cz"]
    signal = np.random.default_rng(3).standard_normal((3, int(10.5 * FS)))
    feats = window_features(signal, FS, channels, window_s=2.0, step_s=1.0)
    assert feats.shape == (1 + (len(signal[0]) - 256) // 128, len(feature_names(channels)))
    assert np.isfinite(feats).all()


@pytest.mark.parametrize("window_s, step_s", [(2.0, 1.0), (2.0, 0.5), (2.0, 0.7), (1.5, 1.5)])
def test_window_power_equals_band_power_of_each_window_cut_by_hand(window_s: float, step_s: float) -> None:
    signal = np.random.default_rng(4).standard_normal((2, int(9 * FS))).astype(np.float32)
    feats = window_features(signal, FS, ["a", "b"], window_s=window_s, step_s=step_s)
    win, step = round(window_s * FS), round(step_s * FS)
    by_hand = [band_power(signal[:, s : s + win], FS).ravel() for s in range(0, signal.shape[1] - win + 1, step)]
    np.testing.assert_allclose(feats[:, :10], np.array(by_hand), atol=1e-5)


def test_window_de_of_white_noise_matches_the_analytic_value() -> None:
    sigma = 3.0
    signal = np.random.default_rng(5).normal(0.0, sigma, (8, int(60 * FS)))
    names = feature_names([f"c{i}" for i in range(8)])
    feats = window_features(signal, FS, [f"c{i}" for i in range(8)])
    for band, (lo, hi) in BANDS.items():
        cols = [i for i, n in enumerate(names) if n.endswith(f"_{band}_de")]
        expected = 0.5 * np.log(2 * np.pi * np.e * sigma**2 * (hi - lo) / (FS / 2))
        assert feats[:, cols].mean() == pytest.approx(expected, abs=0.1)


def test_asymmetry_is_right_minus_left_band_power() -> None:
    rng = np.random.default_rng(6)
    left = rng.standard_normal(int(6 * FS)) + _sine(10.0, 6.0, 1.0)
    right = rng.standard_normal(int(6 * FS)) + _sine(10.0, 6.0, 4.0)  # more right alpha
    names = feature_names(["F3", "F4"])
    feats = window_features(np.stack([left, right]), FS, ["F3", "F4"])
    col = dict(zip(names, feats.T))
    np.testing.assert_allclose(col["F4-F3_alpha_asym"], col["F4_alpha_power"] - col["F3_alpha_power"])
    assert (col["F4-F3_alpha_asym"] > 0.5).all()


def test_to_sequences_holds_consecutive_windows() -> None:
    feats = np.arange(20 * 3, dtype=float).reshape(20, 3)  # row i is [3i, 3i+1, 3i+2]
    seqs = to_sequences(feats, n_steps=5, stride=3)
    assert seqs.shape == (1 + (20 - 5) // 3, 5, 3)
    for i, seq in enumerate(seqs):
        np.testing.assert_array_equal(seq, feats[i * 3 : i * 3 + 5])


def test_to_sequences_gives_none_when_there_are_fewer_windows_than_steps() -> None:
    assert to_sequences(np.zeros((4, 7)), n_steps=8, stride=1).shape == (0, 8, 7)


def test_featurize_trials_gives_sequences_or_flat_rows_and_their_source_trial() -> None:
    rng = np.random.default_rng(7)
    channels = ["F3", "F4"]
    trials = [rng.standard_normal((2, int(s * FS))).astype(np.float32) for s in (12, 20)]
    X, source = featurize_trials(trials, FS, channels, representation="sequence", n_steps=8, stride=4)
    n_windows = [11, 19]
    assert X.shape == (sum(1 + (w - 8) // 4 for w in n_windows), 8, len(feature_names(channels)))
    assert X.dtype == np.float32
    np.testing.assert_array_equal(source, [0] + [1] * 3)

    flat, flat_source = featurize_trials(trials, FS, channels, representation="flat")
    assert flat.shape == (sum(n_windows), len(feature_names(channels)))
    np.testing.assert_array_equal(np.bincount(flat_source), n_windows)
    # Sequences are made of the same windows as the flat rows.
    np.testing.assert_allclose(X[2], flat[11 + 4 : 11 + 12], rtol=1e-6)  # trial 1, 2nd sequence


def test_featurize_trials_accepts_a_3d_array() -> None:
    trials = np.random.default_rng(8).standard_normal((3, 2, int(10 * FS)))
    X, source = featurize_trials(trials, FS, ["a", "b"], representation="flat")
    assert len(X) == 3 * 9 and list(np.unique(source)) == [0, 1, 2]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s: featurize_trials([s], FS, ["a", "b"], representation="image"), "representation"),
        (lambda s: window_features(s, FS, ["a"]), "one channel name per signal row"),
        (lambda s: window_features(s[:, :100], FS, ["a", "b"]), "shorter than one"),
        (lambda s: window_features(s, 64.0, ["a", "b"]), "sampling rate"),
        (lambda s: featurize_trials([s], FS, ["a", "b"], n_steps=50), "no trial is long enough"),
        (lambda s: to_sequences(s.T, n_steps=0, stride=1), "n_steps"),
        (lambda s: band_power(s[:, :16], FS), "no frequency bin"),
    ],
)
def test_bad_input_raises_a_one_line_input_error(call, message: str) -> None:
    signal = np.random.default_rng(9).standard_normal((2, int(10 * FS)))
    with pytest.raises(InputError, match=message) as info:
        call(signal)
    assert "\n" not in str(info.value)
