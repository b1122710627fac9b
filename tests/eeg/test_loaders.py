"""Tests for eeg.loaders: the EEGDataset contract, feature-table loading and every validation rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eeg.dataset import EEGDataset, validate_dataset
from eeg.loaders import load_dataset
from eeg.errors import DataError, InputError


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and mtime, to prove a failed load wrote nothing."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def expect_data_error(path: Path, *fragments: str, folder: Path, **kwargs) -> str:
    before = snapshot(folder)
    with pytest.raises(DataError) as info:
        load_dataset(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert path.name in message
    for fragment in fragments:
        assert fragment in message, message
    assert snapshot(folder) == before
    return message


def write_npz(folder: Path, name: str = "features.npz", **arrays) -> Path:
    path = folder / name
    np.savez(path, **arrays)
    return path


def table(n: int = 40, n_features: int = 6, n_classes: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_features)), np.arange(n) % n_classes


# --- the dataclass -------------------------------------------------------------------------------------------


def test_groups_are_unique_per_subject_and_trial_pair():
    ds = EEGDataset(
        X=np.zeros((6, 3), np.float32),
        y=np.array([0, 1, 0, 1, 0, 1]),
        subject=np.array([1, 1, 2, 2, 1, 2]),
        trial=np.array([0, 1, 0, 1, 0, 0]),
        class_names=("a", "b"),
        source="test",
    )
    assert ds.n_classes == 2
    groups = ds.groups
    assert groups.dtype == np.int64
    # Same trial id in two subjects are two recordings; repeated (subject, trial) pairs share a group.
    assert groups[0] == groups[4] and groups[2] == groups[5]
    assert len(np.unique(groups)) == 4
    assert "6 samples" in ds.summary() and "4 trials" in ds.summary()


def test_validate_dataset_accepts_a_well_formed_sequence_dataset():
    ds = EEGDataset(
        X=np.ones((4, 8, 3), np.float32),
        y=np.array([0, 1, 2, 0], np.int64),
        subject=np.zeros(4, np.int64),
        trial=np.arange(4, dtype=np.int64),
        class_names=("a", "b", "c"),
        source="test",
    )
    validate_dataset(ds, "memory")


def test_validate_dataset_points_at_the_first_non_finite_value_by_feature_name():
    X = np.ones((3, 2), np.float32)
    X[2, 1] = np.inf
    ds = EEGDataset(X, np.array([0, 1, 0]), np.zeros(3, np.int64), np.arange(3), ("a", "b"), "test")
    with pytest.raises(DataError, match=r"memory: .*1 NaN/Inf.*sample 2, feature 1 \('beta'\)"):
        validate_dataset(ds, "memory", feature_names=["alpha", "beta"])


# --- loading tables ------------------------------------------------------------------------------------------


def test_the_seeds_x_train_y_train_npz_with_167_features_loads(tmp_path):
    X, y = table(n=50, n_features=167)
    path = write_npz(tmp_path, X_train=X, y_train=y)
    ds = load_dataset(path)
    assert ds.X.shape == (50, 167) and ds.X.dtype == np.float32
    assert ds.y.dtype == np.int64 and set(ds.y) == {0, 1, 2, 3, 4}
    assert ds.n_classes == 5 and ds.class_names[0] == "class_0"
    # Without ids, every row is its own trial of subject 0.
    np.testing.assert_array_equal(ds.subject, np.zeros(50))
    np.testing.assert_array_equal(ds.trial, np.arange(50))
    assert ds.source == str(path)


def test_an_npz_with_train_and_val_arrays_loads_as_their_concatenation(tmp_path):
    X, y = table(n=30)
    path = write_npz(tmp_path, X_train=X[:20], y_train=y[:20], X_val=X[20:], y_val=y[20:].reshape(-1, 1))
    ds = load_dataset(path)
    np.testing.assert_allclose(ds.X, X.astype(np.float32))
    np.testing.assert_array_equal(ds.y, y)


def test_a_3d_npz_keeps_its_sequences_ids_and_class_names(tmp_path):
    X = np.random.default_rng(1).standard_normal((12, 8, 4)).astype(np.float32)
    y = np.array([0, 1, 2] * 4)
    path = write_npz(
        tmp_path, X=X, y=y, subject=np.repeat([3, 4], 6), trial=np.tile(np.repeat([0, 1], 3), 2),
        class_names=np.array(["calm", "happy", "sad"]),
    )  # fmt: skip
    ds = load_dataset(path)
    assert ds.X.shape == (12, 8, 4)
    assert ds.class_names == ("calm", "happy", "sad")
    assert set(ds.subject) == {3, 4}
    assert len(np.unique(ds.groups)) == 4


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_csv_or_parquet_table_uses_every_other_numeric_column_as_a_feature(tmp_path, suffix):
    X, y = table(n=20, n_features=3, n_classes=4)
    frame = pd.DataFrame(X, columns=["Fp1_alpha", "Fp2_alpha", "F3_beta"])
    frame.insert(1, "label", y)
    frame["subject"] = np.repeat([1, 2], 10)
    frame["trial"] = np.tile(np.repeat([0, 1], 5), 2)
    path = tmp_path / f"features{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    ds = load_dataset(path, kind="table")
    np.testing.assert_allclose(ds.X, X.astype(np.float32), rtol=1e-6)
    np.testing.assert_array_equal(ds.y, y)
    np.testing.assert_array_equal(ds.subject, frame["subject"])
    assert ds.n_classes == 4 and len(np.unique(ds.groups)) == 4


def test_a_csv_without_ids_makes_every_row_its_own_trial_of_subject_0(tmp_path):
    X, y = table(n=10, n_features=2, n_classes=2)
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "label": y.astype(float)}).to_csv(path, index=False)
    ds = load_dataset(path)
    np.testing.assert_array_equal(ds.subject, np.zeros(10))
    np.testing.assert_array_equal(ds.trial, np.arange(10))
    np.testing.assert_array_equal(ds.y, y)


# --- bad arguments -------------------------------------------------------------------------------------------


def test_an_unknown_kind_representation_or_a_table_label_rule_is_an_input_error(tmp_path):
    X, y = table()
    path = write_npz(tmp_path, X=X, y=y)
    with pytest.raises(InputError, match=r"table, deap, seed.*'edf'"):
        load_dataset(path, kind="edf")
    with pytest.raises(InputError, match=r"sequence, flat.*'image'"):
        load_dataset(path, representation="image")
    with pytest.raises(InputError, match=r"label_rule applies only to kind='deap'"):
        load_dataset(path, label_rule="valence")


# --- every validation rule, through load_dataset ---------------------------------------------------------------


def test_a_missing_path_names_the_path(tmp_path):
    expect_data_error(tmp_path / "nope.npz", "no such file", folder=tmp_path)


@pytest.mark.parametrize("name", ["broken.npz", "broken.parquet", "broken.csv"])
def test_an_unreadable_table_names_the_file_and_its_format(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\xff\xfe\x00\x81garbage\x00" * 10)
    expect_data_error(path, "cannot read as", Path(name).suffix, folder=tmp_path)


def test_an_unknown_table_suffix_is_refused(tmp_path):
    path = tmp_path / "features.xlsx"
    path.write_bytes(b"x")
    expect_data_error(path, "'.xlsx'", ".npz, .csv, .parquet", folder=tmp_path)


def test_an_npz_without_x_and_y_lists_what_it_found(tmp_path):
    path = write_npz(tmp_path, features=np.zeros((3, 2)), labels=np.zeros(3))
    expect_data_error(path, "'X' and 'y'", "['features', 'labels']", folder=tmp_path)


def test_nan_in_x_says_how_many_and_where_the_first_is(tmp_path):
    X, y = table()
    X[3, 5] = np.nan
    X[7, 1] = np.nan
    X[9, 0] = np.inf
    path = write_npz(tmp_path, X=X, y=y)
    expect_data_error(path, "must be finite", "3 NaN/Inf", "sample 3, feature 5", folder=tmp_path)


def test_nan_in_a_csv_feature_names_its_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("alpha,beta,label\n1,2,0\n3,,1\n5,6,0\n")
    expect_data_error(path, "1 NaN/Inf", "sample 1, feature 1 ('beta')", folder=tmp_path)


def test_values_too_large_for_float32_are_reported_as_inf(tmp_path):
    X, y = table()
    X[0, 0] = 1e300
    expect_data_error(write_npz(tmp_path, X=X, y=y), "1 NaN/Inf", "sample 0, feature 0", folder=tmp_path)


@pytest.mark.parametrize(
    ("X", "y", "fragment"),
    [
        (np.zeros(10), np.arange(10) % 2, "shape (10,)"),
        (np.zeros((10, 2, 3, 4)), np.arange(10) % 2, "shape (10, 2, 3, 4)"),
        (np.zeros((10, 3)), np.zeros((10, 3)), "shape (10, 3)"),
    ],
    ids=["1-d X", "4-d X", "one-hot y"],
)
def test_wrong_dimensions_name_the_shape(tmp_path, X, y, fragment):
    expect_data_error(write_npz(tmp_path, X=X, y=y), fragment, folder=tmp_path)


def test_x_and_y_of_different_lengths_give_both_lengths(tmp_path):
    X, y = table(n=40)
    expect_data_error(write_npz(tmp_path, X=X, y=y[:38]), "same length", "40 samples and 38 labels", folder=tmp_path)


def test_fractional_labels_are_not_integers(tmp_path):
    X, y = table()
    y = y.astype(float)
    y[4] = 1.5
    expect_data_error(write_npz(tmp_path, X=X, y=y), "must be integers", "1.5", "row 4", folder=tmp_path)


def test_text_labels_in_a_csv_are_not_integers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("alpha,label\n1,happy\n2,sad\n")
    expect_data_error(path, "labels must be integers", "'happy'", folder=tmp_path)


def test_one_based_labels_are_outside_0_to_k_minus_1(tmp_path):
    X, y = table(n_classes=5)
    expect_data_error(write_npz(tmp_path, X=X, y=y + 1), "0..4", "got 5", "1-based", folder=tmp_path)


def test_negative_labels_are_outside_the_range(tmp_path):
    X, _ = table()
    y = np.array([-1, 0, 1, 2] * 10)
    expect_data_error(write_npz(tmp_path, X=X, y=y), "0..3", "got -1", folder=tmp_path)


def test_labels_beyond_the_stored_class_names_are_out_of_range(tmp_path):
    X, y = table(n_classes=3)
    path = write_npz(tmp_path, X=X, y=y, class_names=np.array(["a", "b"]))
    expect_data_error(path, "0..1", "got 2", folder=tmp_path)


def test_a_single_class_cannot_be_classified(tmp_path):
    X, _ = table()
    expect_data_error(write_npz(tmp_path, X=X, y=np.zeros(40, int)), "at least two classes", "[0]", folder=tmp_path)


def test_empty_data_is_refused(tmp_path):
    expect_data_error(write_npz(tmp_path, X=np.zeros((0, 5)), y=np.zeros(0, int)), "no data", "(0, 5)", folder=tmp_path)


@pytest.mark.parametrize("name", ["subject", "trial"])
def test_ids_of_the_wrong_length_are_refused(tmp_path, name):
    X, y = table(n=40)
    path = write_npz(tmp_path, X=X, y=y, **{name: np.zeros(39, int)})
    expect_data_error(path, f"{name} ids", "(40)", "(39,)", folder=tmp_path)


def test_a_non_numeric_feature_column_is_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("alpha,mood,label\n1,calm,0\n2,tense,1\n")
    expect_data_error(path, "feature column 'mood'", "must be numeric", "'calm'", folder=tmp_path)


def test_a_table_without_a_label_column_lists_its_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("alpha,emotion\n1,0\n2,1\n")
    expect_data_error(path, "'label' column", "alpha, emotion", folder=tmp_path)


def test_text_subject_ids_are_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("alpha,label,subject\n1,0,S01\n2,1,S02\n")
    expect_data_error(path, "subject must be integers", "'S01'", folder=tmp_path)
