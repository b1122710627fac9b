"""Leakage-safe train/validation/test splits.

Consecutive EEG windows of one recording are nearly identical, so a window-level random
split lets the model "recognise" a trial it has already seen and inflates accuracy. Every
split here assigns whole recordings (``ds.groups``, one per subject and trial) to one side:

* ``"trial"``: whole trials are held out, stratified by class and spread over subjects, so
  every subject and every class appears in train, validation and test.
* ``"subject"``: whole subjects are held out; the honest estimate for a new listener.

The test part is carved off first and depends only on the seed and ``test_size``, so
changing ``val_size`` never moves a recording into or out of the test split.

Functions read only ``X``, ``y``, ``subject``, ``groups`` and ``class_names`` of a dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np
from sklearn.model_selection import GroupShuffleSplit

from eeg.errors import DataError, InputError

__all__ = [
    "STRATEGIES",
    "Split",
    "make_split",
    "subject_folds",
    "cv_folds",
    "check_cv_folds",
    "validation_warnings",
    "majority_baseline",
]

STRATEGIES: tuple[str, ...] = ("trial", "subject")


@dataclass(frozen=True)
class Split:
    """Indices into a dataset for each side of a split.

    Attributes:
        train: Sorted sample indices used to fit the model.
        val: Sorted sample indices used for early stopping and by the tuner.
        test: Sorted sample indices only ``train``/``verify`` ever read.
        strategy: ``"trial"`` or ``"subject"``.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    strategy: str

    def describe(self) -> str:
        """One line with the sizes, e.g. ``"trial split: 600 train / 200 val / 200 test samples"``."""
        return f"{self.strategy} split: {len(self.train)} train / {len(self.val)} val / {len(self.test)} test samples"


def _check_fractions(test_size: float, val_size: float) -> None:
    for name, value in (("test_size", test_size), ("val_size", val_size)):
        if not 0.0 < float(value) < 1.0:
            raise InputError(f"make_split: {name} must be in (0, 1), got {value!r}")
    if test_size + val_size >= 1.0:
        raise InputError(f"make_split: test_size + val_size must be < 1, got {test_size} + {val_size}")


def _counts(n: int, test_size: float, val_size: float) -> tuple[int, int]:
    """Number of units for test and val out of ``n`` (>= 3): each side gets at least one."""
    n_test = max(1, round(test_size * n))
    n_val = max(1, round(val_size * n))
    while n_test + n_val > n - 1:  # leave at least one for train; shrink the larger side
        if n_test >= n_val:
            n_test -= 1
        else:
            n_val -= 1
    return n_test, n_val


def _group_table(ds: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample group ids, and per unique group: id, subject and (majority) label."""
    groups = np.asarray(ds.groups)
    y = np.asarray(ds.y).astype(np.int64)
    subject = np.asarray(ds.subject)
    if len(groups) == 0:
        raise DataError("make_split: the dataset is empty")
    unique, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    # A recording has one label; take the most frequent one in case a loader mixed them.
    votes = np.zeros((len(unique), int(y.max()) + 1), dtype=np.int64)
    np.add.at(votes, (inverse, y), 1)
    labels = votes.argmax(axis=1)
    return inverse, unique, subject[first], labels


def _class_name(ds: Any, label: int) -> str:
    names = tuple(getattr(ds, "class_names", ()) or ())
    return names[label] if 0 <= label < len(names) else str(label)


def _trial_split(ds: Any, test_size: float, val_size: float, rng: np.random.Generator) -> list[np.ndarray]:
    inverse, unique, group_subject, group_label = _group_table(ds)
    side = np.full(len(unique), -1)  # 0 train, 1 val, 2 test (per group)
    for label in np.unique(group_label):
        members = np.flatnonzero(group_label == label)
        if len(members) < 3:
            raise DataError(
                f"trial split: class {_class_name(ds, int(label))!r} has {len(members)} trial(s); "
                "it needs at least 3 (one each for train, val and test)"
            )
        # Order this class's trials so the first k spread evenly over subjects: shuffle each
        # subject's trials, rank them by their relative position in that subject (ties broken
        # by a random subject order), then hand out test first, val next, the rest to train.
        position = np.empty(len(members))
        tie_break = np.empty(len(members))
        subjects = np.unique(group_subject[members])
        subject_order = dict(zip(subjects, rng.permutation(len(subjects))))
        for s in subjects:
            own = np.flatnonzero(group_subject[members] == s)
            own = own[rng.permutation(len(own))]
            position[own] = (np.arange(len(own)) + 0.5) / len(own)
            tie_break[own] = subject_order[s]
        ordered = members[np.lexsort((tie_break, position))]
        n_test, n_val = _counts(len(members), test_size, val_size)
        side[ordered[:n_test]] = 2
        side[ordered[n_test : n_test + n_val]] = 1
        side[ordered[n_test + n_val :]] = 0
    sample_side = side[inverse]
    return [np.flatnonzero(sample_side == k) for k in (0, 1, 2)]


def _subject_split(ds: Any, test_size: float, val_size: float, seed: int) -> list[np.ndarray]:
    subject = np.asarray(ds.subject)
    n_subjects = len(np.unique(subject))
    if n_subjects < 3:
        raise DataError(
            f"subject split: the dataset has {n_subjects} subject(s); "
            "it needs at least 3 (one each for train, val and test)"
        )
    n_test, n_val = _counts(n_subjects, test_size, val_size)
    everything = np.arange(len(subject))
    outer = GroupShuffleSplit(n_splits=1, test_size=n_test, random_state=seed)
    rest, test = next(outer.split(everything, groups=subject))
    inner = GroupShuffleSplit(n_splits=1, test_size=n_val, random_state=seed + 1)
    train, val = next(inner.split(rest, groups=subject[rest]))
    return [np.sort(rest[train]), np.sort(rest[val]), np.sort(test)]


def make_split(
    ds: Any,
    strategy: Literal["trial", "subject"] | str = "trial",
    *,
    test_size: float = 0.2,
    val_size: float = 0.2,
    seed: int = 0,
) -> Split:
    """Split a dataset into train, validation and test indices without leaking recordings.

    Args:
        ds: An :class:`~eeg.dataset.EEGDataset` (or anything with ``y``, ``subject``,
            ``groups`` and ``class_names``).
        strategy: ``"trial"`` holds out whole trials per subject and class; ``"subject"``
            holds out whole subjects.
        test_size: Fraction of the recordings (trial split, per class) or of the subjects
            (subject split) held out for the final test.
        val_size: Fraction, of the whole, used for validation; train gets the rest.
        seed: Seed of the shuffling; the same seed gives the same split.

    Returns:
        A :class:`Split` whose sides share no recording (and, for ``"subject"``, no subject).

    Raises:
        InputError: Unknown strategy or fractions outside (0, 1).
        DataError: The split is infeasible: a class with fewer than 3 trials, or fewer than
            3 subjects for the subject split.
    """
    if strategy not in STRATEGIES:
        raise InputError(f"make_split: strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    _check_fractions(test_size, val_size)
    if strategy == "trial":
        train, val, test = _trial_split(ds, test_size, val_size, np.random.default_rng(seed))
    else:
        train, val, test = _subject_split(ds, test_size, val_size, seed)
    return Split(*(np.asarray(a, dtype=np.int64) for a in (train, val, test)), strategy=strategy)


def subject_folds(ds: Any, k: int | None, *, exclude: np.ndarray | None = None, seed: int = 0) -> list[Split]:
    """Subject-grouped folds of the samples outside ``exclude`` (the held-out test split): cross-subject estimates.

    The subjects are shuffled with ``seed`` and dealt into ``k`` groups of near-equal size
    (``k=None``: one group per subject, leave-one-subject-out). Fold ``i`` evaluates on group
    ``i`` (its ``test`` side), stops early and chooses baselines on group ``i + 1`` (``val``)
    and trains on the rest, so no subject is ever on two sides of a fold, and the samples in
    ``exclude`` are on none.

    Args:
        ds: Anything with ``subject`` (and ``y``) per sample.
        k: Number of folds, 3 up to the number of subjects; ``None`` for leave-one-subject-out.
        exclude: Sample indices no fold may use (the test split of :func:`make_split`).
        seed: Seed of the subject shuffle.

    Returns:
        ``k`` :class:`Split` objects, ``strategy`` ``"subject fold i/k"``.

    Raises:
        InputError: ``k`` below 3, or above the number of subjects.
        DataError: Fewer than 3 subjects outside ``exclude``.
    """
    subject = np.asarray(ds.subject)
    usable = np.setdiff1d(np.arange(len(subject)), np.asarray(exclude if exclude is not None else [], dtype=np.int64))
    subjects = np.unique(subject[usable])
    if len(subjects) < 3:
        raise DataError(
            f"subject folds: {len(subjects)} subject(s) outside the test split; "
            "folds need at least 3 (one each to train on, stop early on and evaluate on)"
        )
    n_folds = len(subjects) if k is None else k
    if isinstance(n_folds, bool) or not 3 <= int(n_folds) <= len(subjects):
        raise InputError(
            f"--folds must be between 3 and the {len(subjects)} subjects outside the test split (or loso), got {k!r}"
        )
    n_folds = int(n_folds)
    groups = np.array_split(np.random.default_rng(seed).permutation(subjects), n_folds)
    folds = []
    for i in range(n_folds):
        held_out, stopping = groups[i], groups[(i + 1) % n_folds]
        side = subject[usable]
        test = usable[np.isin(side, held_out)]
        val = usable[np.isin(side, stopping)]
        train = usable[~np.isin(side, np.concatenate([held_out, stopping]))]
        folds.append(Split(train, val, test, strategy=f"subject fold {i + 1}/{n_folds}"))
    return folds


def validation_warnings(ds: Any, split: Split, *, min_subjects: int = 3, min_recordings: int = 5) -> list[str]:
    """Why the validation score that selects a config may be a noisy estimate, one line each (empty when fine).

    Tuning keeps the config with the best validation score: the fewer people (subject split)
    or recordings per class the validation side holds, the more that best score is luck
    and the further it overstates the test score.

    Args:
        ds: The dataset the split indexes (``subject``, ``groups``, ``y``, ``class_names``).
        split: From :func:`make_split`.
        min_subjects: Fewest validation subjects a subject split should have.
        min_recordings: Fewest validation recordings each class should have.
    """
    warnings = []
    val = np.asarray(split.val)
    if split.strategy == "subject":
        n_subjects = len(np.unique(np.asarray(ds.subject)[val]))
        if n_subjects < min_subjects:
            warnings.append(
                f"warning: the validation split holds {n_subjects} subject(s) (fewer than {min_subjects}): the best "
                "trial's validation score is chosen on few people and overstates its test score; check the tuned "
                "config across subjects with `verify --folds 5` (or --folds loso) before trusting it"
            )
    groups, y = np.asarray(ds.groups)[val], np.asarray(ds.y)[val]
    counts = {_class_name(ds, label): len(np.unique(groups[y == label])) for label in range(len(ds.class_names))}
    few = {name: n for name, n in counts.items() if n < min_recordings}
    if few:  # one line for all classes: a warning per class would bury the results
        listed = ", ".join(f"{name!r} {n}" for name, n in few.items())
        warnings.append(
            f"warning: the validation split holds fewer than {min_recordings} recordings of {len(few)} class(es) "
            f"({listed}): validation accuracy is noisy; use more data or a larger validation share, and compare "
            "configs with `verify --seeds 3`"
        )
    return warnings


def majority_baseline(y_train: np.ndarray, y_eval: np.ndarray) -> float:
    """Accuracy on ``y_eval`` of always predicting the most frequent class of ``y_train``.

    Ties go to the smallest class index. This is the number any reported accuracy must beat.

    Raises:
        DataError: ``y_train`` or ``y_eval`` is empty.
    """
    y_train = np.asarray(y_train).astype(np.int64).ravel()
    y_eval = np.asarray(y_eval).astype(np.int64).ravel()
    if len(y_train) == 0 or len(y_eval) == 0:
        raise DataError(f"majority_baseline: needs non-empty labels, got {len(y_train)} train and {len(y_eval)} eval")
    majority = int(np.bincount(y_train).argmax())
    return float(np.mean(y_eval == majority))


def check_cv_folds(ds: Any, split: Split, k: int) -> int:
    """The number of groups :func:`cv_folds` would deal out; raises InputError when ``k`` folds cannot be made.

    Groups are subjects for ``--split subject`` and whole recordings for ``--split trial``,
    counted in the tuning data (train + val of ``split``; the test split is never used).
    """
    tuning = np.concatenate([split.train, split.val])
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise InputError(f"--cv must be a whole number >= 2, got {k!r}")
    if split.strategy == "subject":
        n_subjects = len(np.unique(np.asarray(ds.subject)[tuning]))
        if n_subjects < 2:
            raise InputError(f"--cv {k}: the tuning data hold {n_subjects} subject; subject folds need at least 2")
        if k > n_subjects:
            raise InputError(f"--cv {k}: more folds than the {n_subjects} subjects in the tuning data")
        return n_subjects
    n_recordings = len(np.unique(np.asarray(ds.groups)[tuning]))
    if k > n_recordings:
        raise InputError(f"--cv {k}: more folds than the {n_recordings} recordings in the tuning data")
    # Stratified folds validate on every class: each fold needs a recording of the rarest class.
    _, _, _, labels = _group_table(SimpleNamespace(groups=np.asarray(ds.groups)[tuning], y=np.asarray(ds.y)[tuning],
                                                   subject=np.asarray(ds.subject)[tuning]))
    per_class = np.bincount(labels)
    rarest = int(np.flatnonzero(per_class)[per_class[per_class > 0].argmin()])
    if k > per_class[rarest]:
        raise InputError(f"--cv {k}: more folds than the {per_class[rarest]} recordings of class "
                         f"{_class_name(ds, rarest)!r} (the rarest) in the tuning data")
    return n_recordings


def cv_folds(ds: Any, split: Split, k: int, *, seed: int = 0) -> list[Split]:
    """``k`` folds of the tuning data (train + val of ``split``) for cross-validated trial scores.

    ``--split subject``: GroupKFold over subjects; ``--split trial``: StratifiedGroupKFold over
    whole recordings, stratified by label. Fold ``i`` validates on its own groups and trains on
    the others; every fold keeps ``split.test`` as its test side, which no trial reads. The
    folds depend only on the dataset, ``split`` and ``seed`` (the split seed), so every trial,
    backend and resumed run sees the same ones.

    Raises:
        InputError: ``k`` below 2, above the number of groups, or a single subject (subject split).
    """
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    check_cv_folds(ds, split, k)
    tuning = np.sort(np.concatenate([split.train, split.val]))
    if split.strategy == "subject":
        groups = np.asarray(ds.subject)[tuning]
        splitter = GroupKFold(n_splits=int(k), shuffle=True, random_state=seed)
        dealt = splitter.split(tuning, groups=groups)
    else:
        groups = np.asarray(ds.groups)[tuning]
        labels = np.asarray(ds.y).astype(np.int64)[tuning]
        splitter = StratifiedGroupKFold(n_splits=int(k), shuffle=True, random_state=seed)
        dealt = splitter.split(tuning, labels, groups=groups)
    return [Split(np.sort(tuning[train]), np.sort(tuning[val]), np.asarray(split.test, dtype=np.int64),
                  strategy=f"{split.strategy} cv fold {i + 1}/{k}")
            for i, (train, val) in enumerate(dealt)]
