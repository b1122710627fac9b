"""Tests for eeg.splits: no recording or held-out subject ever leaks across a split."""

from __future__ import annotations

import types

import numpy as np
import pytest

from eeg.dataset import EEGDataset
from eeg.errors import DataError, InputError
from eeg.splits import Split, majority_baseline, make_split

CLASSES = ("happy", "calm", "sad", "angry", "neutral")


def fabricate(n_subjects: int = 6, trials_per_class: int = 3, windows: int = 4, n_classes: int = 5) -> EEGDataset:
    """Every subject records ``trials_per_class`` trials of every class, cut into ``windows`` windows."""
    rows = [
        (s, c, s * 100 + c * trials_per_class + t)
        for s in range(n_subjects)
        for c in range(n_classes)
        for t in range(trials_per_class)
        for _ in range(windows)
    ]
    subject, y, trial = (np.array(col, dtype=np.int64) for col in zip(*rows))
    X = np.random.default_rng(0).normal(size=(len(y), 2, 3)).astype(np.float32)
    return EEGDataset(X=X, y=y, subject=subject, trial=trial, class_names=CLASSES[:n_classes], source="fabricated")


def sides(split: Split) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return split.train, split.val, split.test


@pytest.mark.parametrize("strategy", ["trial", "subject"])
def test_every_sample_lands_on_exactly_one_side_and_no_recording_on_two(strategy):
    ds = fabricate()
    split = make_split(ds, strategy, seed=3)
    assert split.strategy == strategy
    np.testing.assert_array_equal(np.sort(np.concatenate(sides(split))), np.arange(len(ds.y)))
    recordings = [set(ds.groups[idx]) for idx in sides(split)]
    assert all(recordings)
    assert not (recordings[0] & recordings[1] or recordings[0] & recordings[2] or recordings[1] & recordings[2])


def test_the_subject_split_holds_out_whole_subjects():
    ds = fabricate(n_subjects=10)
    train, val, test = (set(ds.subject[idx]) for idx in sides(make_split(ds, "subject", seed=1)))
    assert (len(train), len(val), len(test)) == (6, 2, 2)
    assert not (train & val or train & test or val & test)


def test_the_trial_split_keeps_every_subject_and_class_on_every_side():
    ds = fabricate(n_subjects=4, trials_per_class=5)
    for idx in sides(make_split(ds, "trial", seed=0)):
        assert set(ds.subject[idx]) == set(range(4))
        assert set(ds.y[idx]) == set(range(5))


def test_the_trial_split_holds_out_the_requested_share_of_trials_per_class():
    ds = fabricate(n_subjects=6, trials_per_class=3)  # 18 trials per class
    split = make_split(ds, "trial", test_size=0.2, val_size=0.2, seed=0)
    for label in range(5):
        counts = [len(set(ds.groups[idx][ds.y[idx] == label])) for idx in sides(split)]
        assert counts == [10, 4, 4]


@pytest.mark.parametrize("strategy", ["trial", "subject"])
def test_the_test_split_is_stable_for_a_seed_and_does_not_move_with_val_size(strategy):
    ds = fabricate(n_subjects=8)
    first = make_split(ds, strategy, seed=7)
    np.testing.assert_array_equal(first.test, make_split(ds, strategy, seed=7).test)
    np.testing.assert_array_equal(first.val, make_split(ds, strategy, seed=7).val)
    if strategy == "trial":
        np.testing.assert_array_equal(first.test, make_split(ds, strategy, val_size=0.3, seed=7).test)
    assert not np.array_equal(first.test, make_split(ds, strategy, seed=8).test)


def test_a_class_with_too_few_trials_makes_the_trial_split_infeasible():
    ds = fabricate(n_subjects=1, trials_per_class=2)
    with pytest.raises(DataError, match=r"'happy' has 2 trial\(s\); it needs at least 3") as info:
        make_split(ds, "trial")
    assert "\n" not in str(info.value)


def test_fewer_than_three_subjects_make_the_subject_split_infeasible():
    with pytest.raises(DataError, match=r"2 subject\(s\); it needs at least 3"):
        make_split(fabricate(n_subjects=2), "subject")


def test_three_trials_per_class_are_just_enough_for_a_trial_split():
    ds = fabricate(n_subjects=1, trials_per_class=3)
    assert all(len(idx) == 5 * 4 for idx in sides(make_split(ds, "trial")))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "window"}, "strategy must be one of trial, subject, got 'window'"),
        ({"test_size": 0.0}, "test_size must be in"),
        ({"val_size": 1.2}, "val_size must be in"),
        ({"test_size": 0.5, "val_size": 0.5}, "test_size \\+ val_size must be < 1"),
    ],
)
def test_bad_split_arguments_raise_an_input_error(kwargs, message):
    with pytest.raises(InputError, match=message):
        make_split(fabricate(), **kwargs)


def test_a_stand_in_with_the_same_attributes_works():
    ds = fabricate()
    stand_in = types.SimpleNamespace(y=ds.y, subject=ds.subject, groups=ds.groups, class_names=ds.class_names)
    np.testing.assert_array_equal(make_split(stand_in, seed=2).test, make_split(ds, seed=2).test)


def test_describe_gives_the_sizes_on_one_line():
    split = Split(np.arange(6), np.arange(2), np.arange(3), "trial")
    assert split.describe() == "trial split: 6 train / 2 val / 3 test samples"


def test_the_majority_baseline_always_predicts_the_most_frequent_training_class():
    assert majority_baseline([0, 2, 2, 1], [2, 0, 0, 0]) == 0.25
    assert majority_baseline([1, 0], [0, 0, 1]) == pytest.approx(2 / 3)  # a tie goes to the smaller index
    with pytest.raises(DataError):
        majority_baseline([], [1])
