"""From the data flags to train/val/test arrays, with the test split carved off first.

Every command (tune, train, verify) goes through :func:`prepare_experiment_data`, so
they all hold out the same test split for the same data, ``--split`` and ``split_seed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from eeg.errors import InputError

__all__ = ["ExperimentData", "load_experiment_dataset", "prepare_experiment_data"]



@dataclass
class ExperimentData:
    """The prepared arrays plus what a reader needs to trust the numbers."""

    dataset: Any  # eeg.datasets.EEGDataset
    split: Any  # eeg.splits.Split
    prepared: Any  # eeg.training.PreparedData (holds the test split; never hand it to Ray)
    description: str  # for metadata["data"]


def load_experiment_dataset(config: Mapping[str, Any]):
    """The dataset the flags name: synthetic EEG or a loader for ``--data``."""
    if config.get("use_dummy_data"):
        from eeg.synthetic import make_dummy_dataset

        return make_dummy_dataset(smoke_test=bool(config.get("smoke_test")))
    if not config.get("data"):
        raise InputError("no data given: pass --use-dummy-data, or --data PATH with --dataset table|deap|seed")
    from eeg.datasets import KINDS, load_dataset

    kind = config.get("dataset") or "table"
    if kind not in KINDS:
        raise InputError(f"--dataset must be one of {', '.join(KINDS)}, got {kind!r}")

    return load_dataset(config["data"], kind, label_rule=config.get("label_rule"))


def prepare_experiment_data(config: Mapping[str, Any]) -> ExperimentData:
    """Load, validate, split (test first) and standardise with train statistics only."""
    from eeg.datasets import validate_dataset
    from eeg.splits import STRATEGIES, make_split
    from eeg.training import prepare_data

    strategy = config.get("split") or "trial"
    if strategy not in STRATEGIES:
        raise InputError(f"--split must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    dataset = load_experiment_dataset(config)
    validate_dataset(dataset, dataset.source)
    split = make_split(dataset, strategy, seed=int(config.get("split_seed") or 0))
    prepared = prepare_data(dataset, split)
    description = f"{dataset.source}; split={strategy}; split_seed={int(config.get('split_seed') or 0)}"
    return ExperimentData(dataset=dataset, split=split, prepared=prepared, description=description)
