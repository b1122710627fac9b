"""Grouped cross-validation folds of the tuning data (``--cv K``) and the refusals of an impossible K."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from eeg.errors import InputError
from eeg.splits import Split, check_cv_folds, cv_folds, make_split


def _dataset(n_subjects: int = 8, trials_per_class: int = 4, n_classes: int = 3):
    subject, trial, y = [], [], []
    for s in range(n_subjects):
        for t in range(trials_per_class * n_classes):
            for _window in range(2):
                subject.append(s), trial.append(t), y.append(t % n_classes)
    subject, trial = np.array(subject), np.array(trial)
    groups = np.unique(np.stack([subject, trial], 1), axis=0, return_inverse=True)[1].reshape(-1)
    return SimpleNamespace(subject=subject, trial=trial, y=np.array(y), groups=groups,
                           class_names=tuple(f"c{i}" for i in range(n_classes)))


@pytest.mark.parametrize("strategy, key", [("subject", "subject"), ("trial", "groups")])
def test_every_tuning_sample_is_validated_once_no_group_crosses_a_fold_and_test_is_never_used(strategy, key):
    ds = _dataset()
    split = make_split(ds, strategy, seed=0)
    folds = cv_folds(ds, split, 3, seed=0)
    tuning = np.sort(np.concatenate([split.train, split.val]))
    assert len(folds) == 3
    assert np.array_equal(np.sort(np.concatenate([f.val for f in folds])), tuning)
    for fold in folds:
        assert np.array_equal(np.sort(np.concatenate([fold.train, fold.val])), tuning)
        assert not set(getattr(ds, key)[fold.train]) & set(getattr(ds, key)[fold.val])
        assert not set(fold.train) & set(split.test) and not set(fold.val) & set(split.test)
        assert np.array_equal(fold.test, split.test)


def test_trial_folds_are_stratified_by_label():
    ds = _dataset()
    folds = cv_folds(ds, make_split(ds, "trial", seed=0), 3, seed=0)
    for fold in folds:
        counts = np.bincount(ds.y[fold.val], minlength=3)
        assert counts.min() > 0 and counts.max() - counts.min() <= 2 * 2  # within a recording or so per class


def test_the_folds_depend_only_on_the_split_seed():
    ds = _dataset()
    split = make_split(ds, "subject", seed=0)
    first, again = cv_folds(ds, split, 3, seed=0), cv_folds(ds, split, 3, seed=0)
    other = cv_folds(ds, split, 3, seed=5)
    assert all(np.array_equal(a.val, b.val) for a, b in zip(first, again))
    assert not all(np.array_equal(a.val, b.val) for a, b in zip(first, other))


@pytest.mark.parametrize("k", [1, 0, True])
def test_fewer_than_two_folds_are_refused_naming_the_value(k):
    ds = _dataset()
    with pytest.raises(InputError, match=f"--cv must be a whole number >= 2, got {k!r}"):
        cv_folds(ds, make_split(ds, "subject", seed=0), k)


def test_more_folds_than_subjects_in_the_tuning_data_are_refused_with_the_count():
    ds = _dataset()
    split = make_split(ds, "subject", seed=0)
    n_subjects = len(np.unique(ds.subject[np.concatenate([split.train, split.val])]))
    with pytest.raises(InputError, match=rf"--cv {n_subjects + 1}: more folds than the {n_subjects} subjects"):
        check_cv_folds(ds, split, n_subjects + 1)
    assert check_cv_folds(ds, split, n_subjects) == n_subjects


def test_more_folds_than_recordings_are_refused_with_the_count():
    ds = _dataset(n_subjects=3, trials_per_class=3)
    split = make_split(ds, "trial", seed=0)
    n_recordings = len(np.unique(ds.groups[np.concatenate([split.train, split.val])]))
    with pytest.raises(InputError, match=rf"--cv {n_recordings + 1}: more folds than the {n_recordings} recordings"):
        cv_folds(ds, split, n_recordings + 1)


def test_a_single_subject_in_the_tuning_data_is_refused_under_the_subject_split():
    ds = _dataset(n_subjects=2)
    one = np.flatnonzero(ds.subject == 0)
    split = Split(one[:10], one[10:], np.flatnonzero(ds.subject == 1), strategy="subject")
    with pytest.raises(InputError, match="--cv 2: the tuning data hold 1 subject"):
        cv_folds(ds, split, 2)
