"""Tests for eeg.seed: SEED's ExtractedFeatures and Preprocessed_EEG layouts, written small into tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from eeg.loaders import load_dataset
from eeg.errors import DataError
from eeg.features import feature_names
from eeg.seed import SEED_CHANNELS, load_seed

# SEED's clip order of emotions: 1 positive, 0 neutral, -1 negative.
SEED_LABELS = np.array([[1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1]])
SESSIONS = {1: ("20131027", "20131030"), 2: ("20140404", "20140413")}


def windows_of(clip: int) -> int:
    return 9 + clip % 4  # 9..12 windows: lengths differ by clip, as in SEED


def de_value(subject: int, session: int, clip: int) -> float:
    return 1000 * subject + 100 * session + clip


def write_features(folder: Path, *, sessions=SESSIONS, labels=SEED_LABELS, **extra) -> Path:
    """ExtractedFeatures/: de_LDS<n> (62, W, 5) whose value at [c, w, b] is c*5 + b + de_value(...)."""
    folder.mkdir(parents=True, exist_ok=True)
    savemat(folder / "label.mat", {"label": labels})
    base = np.arange(62 * 5, dtype=np.float64).reshape(62, 1, 5)
    for subject, dates in sessions.items():
        for session, date in enumerate(dates):
            content = {}
            for clip in range(15):
                de = np.broadcast_to(base, (62, windows_of(clip), 5)) + de_value(subject, session, clip)
                content[f"de_LDS{clip + 1}"] = de
                content[f"psd_LDS{clip + 1}"] = -de  # other features in the file are ignored
            savemat(folder / f"{subject}_{date}.mat", content | extra)
    return folder


def samples_of(clip: int) -> int:
    return 2000 + 200 * (clip % 3)  # 10..12 s at 200 Hz: lengths are not hard-coded


def write_raw(folder: Path, *, n_clips: int = 15) -> Path:
    """Preprocessed_EEG/: <initials>_eeg<n> (62, n_samples) at 200 Hz, two subjects, one session each."""
    folder.mkdir(parents=True, exist_ok=True)
    savemat(folder / "label.mat", {"label": SEED_LABELS})
    rng = np.random.default_rng(0)
    for subject, initials in ((3, "djc"), (4, "jl")):
        content = {f"{initials}_eeg{clip + 1}": rng.standard_normal((62, samples_of(clip))) for clip in range(n_clips)}
        savemat(folder / f"{subject}_2013102{subject}.mat", content)
    return folder


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def expect_data_error(path: Path, *fragments: str) -> None:
    before = snapshot(path)
    with pytest.raises(DataError) as info:
        load_dataset(path, kind="seed")
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    assert snapshot(path) == before


def test_extracted_features_flatten_62_channels_by_5_bands_channel_major(tmp_path):
    write_features(tmp_path / "ExtractedFeatures")
    ds = load_dataset(tmp_path, kind="seed", representation="flat")
    per_session = sum(windows_of(c) for c in range(15))
    assert ds.X.shape == (4 * per_session, 310)
    # Feature k of every row is channel k // 5, band k % 5 (value c*5 + b), plus the clip's offset.
    offsets = 1000 * ds.subject + 100 * (ds.trial // 15) + ds.trial % 15
    np.testing.assert_array_equal(ds.X - offsets[:, None], np.tile(np.arange(310), (len(ds.X), 1)))


def test_seed_labels_map_to_negative_neutral_positive_per_clip(tmp_path):
    write_features(tmp_path)
    ds = load_seed(tmp_path, representation="flat")
    assert ds.class_names == ("negative", "neutral", "positive")
    np.testing.assert_array_equal(ds.y, SEED_LABELS[0][ds.trial % 15] + 1)


def test_trial_ids_stay_unique_within_a_subject_across_sessions(tmp_path):
    write_features(tmp_path)
    ds = load_seed(tmp_path)
    assert set(ds.subject) == {1, 2}
    for subject in (1, 2):
        assert set(ds.trial[ds.subject == subject]) == set(range(30))  # session 0: 0..14, session 1: 15..29
    assert len(np.unique(ds.groups)) == 60


def test_sessions_are_ordered_by_date_within_a_subject(tmp_path):
    write_features(tmp_path, sessions={7: ("20131030", "20131027")})
    ds = load_seed(tmp_path, representation="flat")
    # The 20131027 file is written as session index 1 but is the earlier date, so its clips get trials 0..14.
    early = ds.trial < 15
    np.testing.assert_array_equal(ds.X[early, 0] % 1000 // 100, 1)


def test_extracted_features_give_sequences_of_8_windows(tmp_path):
    write_features(tmp_path)
    ds = load_dataset(tmp_path, kind="seed")
    # W windows -> (W - 8) // 4 + 1 sequences of 8 (stride 4) per clip: 1 for W = 9..11, 2 for W = 12.
    per_session = sum((windows_of(c) - 8) // 4 + 1 for c in range(15))
    assert ds.X.shape == (4 * per_session, 8, 310)
    assert "ExtractedFeatures" in ds.source


def test_the_root_with_both_folders_prefers_extracted_features(tmp_path):
    write_features(tmp_path / "ExtractedFeatures")
    write_raw(tmp_path / "Preprocessed_EEG")
    ds = load_dataset(tmp_path, kind="seed", representation="flat")
    assert ds.X.shape[1] == 310 and "ExtractedFeatures" in ds.source


def test_raw_preprocessed_eeg_is_featurized_at_200_hz_with_asymmetry(tmp_path):
    write_raw(tmp_path / "Preprocessed_EEG")
    ds = load_dataset(tmp_path, kind="seed", representation="flat")
    names = feature_names(SEED_CHANNELS)
    assert sum(n.endswith("_asym") for n in names) == 6 * 5  # all six frontal pairs are found
    # 2 s windows every 1 s: n_samples / 200 - 1 windows per clip.
    per_session = sum(samples_of(c) // 200 - 1 for c in range(15))
    assert ds.X.shape == (2 * per_session, len(names))
    assert set(ds.subject) == {3, 4} and set(ds.trial) == set(range(15))
    np.testing.assert_array_equal(ds.y, SEED_LABELS[0][ds.trial] + 1)
    assert "Preprocessed_EEG" in ds.source


def test_raw_clips_are_found_by_their_eeg_suffix_and_give_sequences(tmp_path):
    folder = write_raw(tmp_path, n_clips=3)
    ds = load_seed(folder)
    assert ds.X.shape == (2 * 3, 8, len(feature_names(SEED_CHANNELS)))
    assert set(ds.trial) == {0, 1, 2}


def test_a_folder_without_session_files_is_named(tmp_path):
    expect_data_error(tmp_path, str(tmp_path), "no SEED session files", "1_20131027.mat")


def test_a_missing_label_file_is_named(tmp_path):
    write_features(tmp_path)
    (tmp_path / "label.mat").unlink()
    expect_data_error(tmp_path, "label.mat", "no such file")


def test_labels_outside_minus_1_to_1_name_the_value_and_clip(tmp_path):
    labels = SEED_LABELS.copy()
    labels[0, 4] = 2
    write_features(tmp_path, labels=labels)
    expect_data_error(tmp_path, "label.mat", "{-1, 0, 1}", "got 2 for clip 5")


def test_an_unreadable_mat_file_is_named(tmp_path):
    write_features(tmp_path, sessions={1: ("20131027",)})
    (tmp_path / "2_20131027.mat").write_bytes(b"garbage, not a MATLAB file")
    expect_data_error(tmp_path, "2_20131027.mat", "cannot read as .mat")


def test_a_file_without_seed_keys_lists_what_it_holds(tmp_path):
    savemat(tmp_path / "1_20131027.mat", {"eeg": np.zeros((2, 2))})
    savemat(tmp_path / "label.mat", {"label": SEED_LABELS})
    expect_data_error(tmp_path, "1_20131027.mat", "de_LDS1", "[eeg]")


def test_de_features_of_the_wrong_shape_give_the_shape(tmp_path):
    write_features(tmp_path, sessions={1: ("20131027",)}, de_LDS3=np.zeros((32, 9, 5)))
    expect_data_error(tmp_path, "1_20131027.mat", "de_LDS3", "(62 channels, windows, 5 bands)", "(32, 9, 5)")


def test_nan_features_are_counted_and_located(tmp_path):
    bad = np.ones((62, 9, 5))
    bad[10, 2, 3] = np.nan
    write_features(tmp_path, sessions={1: ("20131027",)}, de_LDS1=bad)
    before = snapshot(tmp_path)
    with pytest.raises(DataError, match=r"must be finite, got 1 NaN/Inf values; first at sample 2, feature 53"):
        load_seed(tmp_path, representation="flat")
    assert snapshot(tmp_path) == before


def test_a_raw_clip_shorter_than_one_window_names_the_file(tmp_path):
    savemat(tmp_path / "label.mat", {"label": SEED_LABELS})
    savemat(tmp_path / "5_20131027.mat", {"ab_eeg1": np.zeros((62, 300)), "ab_eeg2": np.zeros((62, 3000))})
    expect_data_error(tmp_path, "5_20131027.mat", "shorter than one")


def test_a_path_to_a_file_is_refused(tmp_path):
    write_features(tmp_path, sessions={1: ("20131027",)})
    with pytest.raises(DataError, match=r"1_20131027.mat: SEED needs a folder"):
        load_dataset(tmp_path / "1_20131027.mat", kind="seed")
