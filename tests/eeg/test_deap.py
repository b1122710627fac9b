"""Tests for eeg.deap: DEAP's on-disk layout, the label rules and the refusing unpickler."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from eeg.loaders import load_dataset
from eeg.deap import DEAP_CHANNELS, LABEL_RULES, load_deap
from eeg.errors import DataError, InputError
from eeg.features import feature_names

N_TRIALS, N_CHANNELS, N_SAMPLES = 40, 40, 8064  # DEAP's exact per-subject shape


def ratings_for(subject: int) -> np.ndarray:
    """(40, 4) ratings in [1, 9] that visit every quadrant and every valence5 bin."""
    rng = np.random.default_rng(subject)
    ratings = rng.uniform(1, 9, size=(N_TRIALS, 4))
    ratings[:5, 0] = [1.0, 3.0, 5.0, 6.0, 9.0]  # one per valence5 bin; 5.0 is not "high"
    ratings[:4, 1] = [2.0, 8.0, 2.0, 8.0]
    return ratings


def write_deap_file(path: Path, data: np.ndarray, labels: np.ndarray, *, python2_names: bool = True) -> None:
    """Write a DEAP-style pickle (protocol 2; optionally with the numpy 1.x module names old files carry)."""
    payload = pickle.dumps({"labels": labels, "data": data}, protocol=2)
    if python2_names:
        payload = payload.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    path.write_bytes(payload)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def deap_root(tmp_path_factory) -> Path:
    """A DEAP root with data_preprocessed_python/ holding s01.dat and s02.dat in the exact layout (float32)."""
    root = tmp_path_factory.mktemp("DEAP")
    folder = root / "data_preprocessed_python"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for subject in (1, 2):
        data = rng.standard_normal((N_TRIALS, N_CHANNELS, N_SAMPLES), dtype=np.float32)
        write_deap_file(folder / f"s{subject:02d}.dat", data, ratings_for(subject))
    return root


@pytest.fixture(scope="module")
def quadrants(deap_root):
    return load_dataset(deap_root, kind="deap")


def short_deap(folder: Path, n_trials: int = 4, seconds: int = 12, **overrides) -> Path:
    """A DEAP-shaped folder with fewer, shorter trials: the loader reads any trial count and length."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    data = rng.standard_normal((n_trials, N_CHANNELS, 128 * (3 + seconds)))
    labels = np.tile([[2.0, 2.0, 5.0, 5.0], [8.0, 8.0, 5.0, 5.0]], (n_trials // 2, 1))
    content = {"data": data, "labels": labels} | overrides
    write_deap_file(folder / "s05.dat", content["data"], content["labels"])
    return folder


@pytest.mark.slow  # writes and featurizes two full 51 MB subjects (~10 s)
def test_the_exact_deap_layout_loads_as_quadrant_sequences(deap_root, quadrants):
    ds = quadrants
    # 60 s after the baseline -> 59 two-second windows -> 13 sequences of 8 (stride 4) per trial.
    assert ds.X.shape == (2 * N_TRIALS * 13, 8, len(feature_names(DEAP_CHANNELS)))
    assert ds.X.dtype == np.float32 and np.isfinite(ds.X).all()
    assert ds.class_names == ("LVLA", "LVHA", "HVLA", "HVHA")
    assert set(ds.subject) == {1, 2}
    assert set(ds.trial) == set(range(N_TRIALS))
    assert len(np.unique(ds.groups)) == 2 * N_TRIALS
    assert "data_preprocessed_python" in ds.source and "quadrants" in ds.source


@pytest.mark.slow
def test_every_sample_carries_its_trials_quadrant(quadrants):
    ds = quadrants
    for subject in (1, 2):
        r = ratings_for(subject)
        expected = 2 * (r[:, 0] > 5) + (r[:, 1] > 5)
        rows = ds.subject == subject
        np.testing.assert_array_equal(ds.y[rows], expected[ds.trial[rows]])
    # The hand-set first trials: valence 1/3/5/6 with arousal 2/8/2/8 -> LVLA, LVHA, LVLA (5 is low), HVHA.
    first = [ds.y[(ds.subject == 1) & (ds.trial == t)][0] for t in range(4)]
    assert first == [0, 1, 0, 3]


def test_the_folder_itself_loads_like_its_parent(tmp_path):
    folder = short_deap(tmp_path / "data_preprocessed_python")
    a = load_dataset(folder, kind="deap", representation="flat")
    b = load_dataset(tmp_path, kind="deap", representation="flat")
    np.testing.assert_array_equal(a.X, b.X)
    assert a.X.shape == (4 * 11, len(feature_names(DEAP_CHANNELS)))  # 12 s -> 11 windows per trial
    np.testing.assert_array_equal(a.subject, np.full(44, 5))


@pytest.mark.parametrize(
    ("rule", "ratings", "expected", "n_classes"),
    [
        ("valence", [[5.0, 9, 1, 1], [5.01, 1, 1, 1]], [0, 1], 2),
        ("arousal", [[9, 5.0, 1, 1], [1, 6.0, 1, 1]], [0, 1], 2),
        ("quadrants", [[2, 2, 1, 1], [2, 8, 1, 1], [8, 2, 1, 1], [8, 8, 1, 1]], [0, 1, 2, 3], 4),
        ("valence5", [[1, 5, 5, 5], [2.6, 5, 5, 5], [4.2, 5, 5, 5], [5.8, 5, 5, 5], [7.4, 5, 5, 5], [9, 5, 5, 5]],
         [0, 1, 2, 3, 4, 4], 5),
        ("valence5", [[2.59, 5, 5, 5], [4.19, 5, 5, 5], [5.79, 5, 5, 5], [7.39, 5, 5, 5]], [0, 1, 2, 3], 5),
    ],
)  # fmt: skip
def test_label_rules_follow_their_documented_thresholds(rule, ratings, expected, n_classes):
    spec = LABEL_RULES[rule]
    np.testing.assert_array_equal(spec.classify(np.array(ratings, float)), expected)
    assert len(spec.class_names) == n_classes


def test_a_binary_rule_and_flat_windows_load_through_load_dataset(tmp_path):
    folder = short_deap(tmp_path / "data_preprocessed_python")
    ds = load_dataset(tmp_path, kind="deap", label_rule="valence", representation="flat")
    assert ds.class_names == ("low_valence", "high_valence")
    np.testing.assert_array_equal(ds.y, np.repeat([0, 1, 0, 1], 11))
    assert folder.name in ds.source


def test_an_unknown_label_rule_lists_the_valid_ones(tmp_path):
    short_deap(tmp_path)
    with pytest.raises(InputError, match=r"valence, arousal, quadrants, valence5, got 'happiness'"):
        load_dataset(tmp_path, kind="deap", label_rule="happiness")


def test_numpy_2_pickles_load_too(tmp_path):
    rng = np.random.default_rng(2)
    labels = np.tile([[2.0, 2.0, 5.0, 5.0], [8.0, 8.0, 5.0, 5.0]], (1, 1))
    write_deap_file(tmp_path / "s01.dat", rng.standard_normal((2, 40, 128 * 13)), labels, python2_names=False)
    assert load_deap(tmp_path, label_rule="valence").X.shape[0] == 2 * 1  # 10 s -> 9 windows -> 1 sequence


def expect_data_error(path: Path, *fragments: str, **kwargs) -> None:
    before = snapshot(path)
    with pytest.raises(DataError) as info:
        load_dataset(path, kind="deap", **kwargs)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    assert snapshot(path) == before


def test_a_missing_folder_is_named(tmp_path):
    expect_data_error(tmp_path, "no DEAP subject files", str(tmp_path))
    with pytest.raises(DataError, match="no such file"):
        load_dataset(tmp_path / "absent", kind="deap")


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s01.dat").write_bytes(pickle.dumps({"data": _Exploit(), "labels": None}, protocol=2))
    expect_data_error(tmp_path, "s01.dat", "cannot read as a DEAP pickle", "refusing to load global")
    assert not (tmp_path / "pwned").exists()


def test_an_unreadable_file_is_named(tmp_path):
    (tmp_path / "s02.dat").write_bytes(b"not a pickle at all")
    expect_data_error(tmp_path, "s02.dat", "cannot read as a DEAP pickle")


def test_a_dict_without_data_and_labels_lists_its_keys(tmp_path):
    (tmp_path / "s01.dat").write_bytes(pickle.dumps({"eeg": 1}, protocol=2))
    expect_data_error(tmp_path, "s01.dat", "'data' and 'labels'", "['eeg']")


def test_data_of_the_wrong_shape_gives_the_shape(tmp_path):
    short_deap(tmp_path, data=np.zeros((4, 20, 8064)))
    expect_data_error(tmp_path, "s05.dat", "(40, 40, 8064)", "got shape (4, 20, 8064)")


def test_ratings_outside_1_to_9_name_the_rating_and_trial(tmp_path):
    labels = np.tile([[2.0, 2.0, 5.0, 5.0]], (4, 1))
    labels[2, 1] = 10.0
    short_deap(tmp_path, labels=labels)
    expect_data_error(tmp_path, "s05.dat", "[1, 9]", "got 10.0 (arousal of trial 2)")


def test_labels_of_the_wrong_shape_give_the_shape(tmp_path):
    short_deap(tmp_path, labels=np.full((4, 3), 5.0))
    expect_data_error(tmp_path, "s05.dat", "(4, 4)", "got shape (4, 3)")


def test_nan_in_a_signal_is_reported_with_its_count_and_place(tmp_path):
    data = np.random.default_rng(3).standard_normal((4, 40, 128 * 15))
    data[1, 7, 1000] = np.nan
    short_deap(tmp_path, data=data)
    expect_data_error(tmp_path, str(tmp_path), "must be finite", "NaN/Inf", "first at sample")


def test_trials_too_short_for_one_window_name_the_file(tmp_path):
    short_deap(tmp_path, data=np.zeros((4, 40, 128 * 3 + 100)))
    expect_data_error(tmp_path, "s05.dat", "shorter than one")


def test_a_single_class_is_refused(tmp_path):
    short_deap(tmp_path, labels=np.full((4, 4), 7.0))
    expect_data_error(tmp_path, "at least two classes", "[3]")


def test_the_raw_recordings_are_the_trials_the_featurizing_loader_reads(tmp_path):
    from eeg.deap import load_deap_raw
    from eeg.pipeline import Preprocessing, featurize_recordings

    folder = short_deap(tmp_path / "deap", n_trials=4, seconds=12)
    raw = load_deap_raw(folder, label_rule="valence")
    assert raw.signals.shape == (4, 32, 12 * 128) and raw.fs == 128.0 and raw.channel_names == DEAP_CHANNELS
    assert raw.subject.tolist() == [5] * 4 and raw.trial.tolist() == [0, 1, 2, 3] and raw.labels.tolist() == [0, 1, 0, 1]
    featurized = load_deap(folder, label_rule="valence")
    mine = featurize_recordings(raw, Preprocessing())
    np.testing.assert_array_equal(mine.X, featurized.X)
    for name in ("y", "subject", "trial"):
        np.testing.assert_array_equal(getattr(mine, name), getattr(featurized, name))
