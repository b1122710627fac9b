"""From the data flags to train/val/test arrays, with the test split carved off first.

Every command (tune, train, verify) goes through :func:`prepare_experiment_data`, so
they all hold out the same test split for the same data, ``--split`` and ``split_seed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eeg.errors import InputError
from engines.experiment.settings import Settings

__all__ = ["ExperimentData", "load_experiment_dataset", "prepare_experiment_data", "check_pipeline_request",
           "pipeline_raw"]

@dataclass
class ExperimentData:
    """The prepared arrays plus what a reader needs to trust the numbers."""

    dataset: Any  # eeg.dataset.EEGDataset
    split: Any  # eeg.splits.Split
    prepared: Any  # eeg.training.PreparedData (holds the test split; never hand it to Ray)
    description: str  # for metadata["data"]
    folds: list | None = None  # --cv K: one eeg.training.PreparedData per fold of the tuning data, no test arrays
    recordings: Any = None  # --space pipeline: eeg.pipeline_data.TuningRecordings, no test recordings


def load_experiment_dataset(settings: Settings):
    """The dataset the flags name: synthetic EEG or a loader for ``--data``."""
    if settings.use_dummy_data:
        from eeg.synthetic import make_dummy_dataset

        return make_dummy_dataset(smoke_test=settings.smoke_test)
    if not settings.data:
        raise InputError("no data given: pass --use-dummy-data, or --data PATH with --dataset table|deap|seed")
    from eeg.loaders import load_dataset

    return load_dataset(settings.data, settings.dataset, label_rule=settings.label_rule)


def check_pipeline_request(settings: Settings) -> None:
    """What ``--space pipeline`` runs with so far; anything else is refused before data is loaded (InputError)."""
    if not settings.use_dummy_data and settings.dataset != "deap":
        raise InputError(f"--space pipeline computes features from raw recordings: it takes --use-dummy-data or "
                         f"--dataset deap so far (a feature table holds no recordings, the SEED loader featurizes as "
                         f"it reads), got --dataset {settings.dataset}")
    if getattr(settings, "cv_folds", None):
        raise InputError(f"--space pipeline scores each trial on the validation split; --cv {settings.cv_folds} "
                         "is for the network-only space so far")


def pipeline_raw(settings: Settings) -> Any:
    """The raw recordings behind the dataset: DEAP's trials as :func:`eeg.deap.load_deap` reads them, or the
    synthetic generator's (same seed, the same smoke-test shrink)."""
    from dataclasses import replace

    if not settings.use_dummy_data:
        from eeg.deap import load_deap_raw

        return load_deap_raw(settings.data, label_rule=settings.label_rule)

    from eeg.synthetic import SyntheticConfig, generate_raw

    config = SyntheticConfig()
    if settings.smoke_test:  # the shrink make_dummy_dataset applies
        config = replace(config, n_subjects=3, trials_per_class=2, trial_seconds=12.0)
    return generate_raw(config)


def prepare_experiment_data(settings: Settings, space: Any = None) -> ExperimentData:
    """Load, validate, split (test first) and standardise with train statistics only.

    For ``--space pipeline`` the raw recordings of the tuning sides come too, with every preprocessing value of the
    space checked against them (one line, exit 2, before any trial).
    """
    from eeg.dataset import validate_dataset
    from eeg.splits import make_split
    from eeg.training import prepare_data

    dataset = load_experiment_dataset(settings)
    validate_dataset(dataset, dataset.source)
    split = make_split(dataset, settings.split, seed=settings.split_seed)
    prepared = prepare_data(dataset, split)
    description = f"{dataset.source}; split={settings.split}; split_seed={settings.split_seed}"
    folds = None
    if getattr(settings, "cv_folds", None):
        from eeg.cv_training import prepare_fold_data
        from eeg.splits import cv_folds

        # Seeded by the split seed only: every trial, backend and resumed run sees the same folds.
        folds = prepare_fold_data(dataset, cv_folds(dataset, split, settings.cv_folds, seed=settings.split_seed))
    recordings = None
    if space is not None and space.name == "pipeline":
        from eeg.pipeline_data import check_space_values

        from eeg.pipeline_data import tuning_recordings

        recordings = tuning_recordings(pipeline_raw(settings), dataset.subject, dataset.trial, split)
        check_space_values(space, recordings)
    return ExperimentData(dataset=dataset, split=split, prepared=prepared, description=description, folds=folds,
                          recordings=recordings)
