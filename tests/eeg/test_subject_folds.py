"""Subject-grouped folds of the non-test data, and the warnings about a small validation split."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from eeg.errors import DataError, InputError
from eeg.splits import make_split, subject_folds, validation_warnings


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


@pytest.mark.parametrize("k", [3, 4, None])
def test_no_subject_sits_on_two_sides_of_a_fold_and_the_test_split_is_on_none(k):
    ds = _dataset()
    split = make_split(ds, "subject", seed=0)
    folds = subject_folds(ds, k, exclude=split.test, seed=0)
    outside_test = np.setdiff1d(np.arange(len(ds.y)), split.test)
    assert len(folds) == (k or len(np.unique(ds.subject[outside_test])))
    for fold in folds:
        sides = [set(ds.subject[fold.train]), set(ds.subject[fold.val]), set(ds.subject[fold.test])]
        assert all(sides) and not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
        assert not set(np.concatenate([fold.train, fold.val, fold.test])) & set(split.test)
    # every sample outside the test split is evaluated exactly once
    assert sorted(np.concatenate([f.test for f in folds]).tolist()) == outside_test.tolist()


def test_folds_of_a_trial_split_leave_its_test_recordings_out():
    ds = _dataset(n_subjects=4)
    split = make_split(ds, "trial", seed=0)
    for fold in subject_folds(ds, 4, exclude=split.test):
        assert not set(fold.test) & set(split.test) and len(set(ds.subject[fold.test])) == 1


def test_too_few_subjects_or_folds_are_refused_with_the_numbers():
    ds = _dataset(n_subjects=5)
    with pytest.raises(InputError, match="between 3 and the 5 subjects"):
        subject_folds(ds, 6)
    with pytest.raises(InputError, match="got 2"):
        subject_folds(ds, 2)
    with pytest.raises(DataError, match="2 subject"):
        subject_folds(_dataset(n_subjects=2), None)


def test_a_subject_split_with_two_validation_subjects_warns_and_says_what_to_do():
    ds = _dataset(n_subjects=10)
    lines = validation_warnings(ds, make_split(ds, "subject", seed=0))
    assert len(lines) == 1 and "holds 2 subject(s) (fewer than 3)" in lines[0] and "verify --folds" in lines[0]


def test_few_recordings_per_class_give_one_line_for_all_classes():
    ds = _dataset(n_subjects=2, trials_per_class=4)
    lines = validation_warnings(ds, make_split(ds, "trial", seed=0))
    assert len(lines) == 1 and "3 class(es)" in lines[0] and "'c0'" in lines[0]
    big = _dataset(n_subjects=10, trials_per_class=10)
    assert validation_warnings(big, make_split(big, "trial", seed=0)) == []
