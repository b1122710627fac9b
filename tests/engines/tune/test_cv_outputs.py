"""``--cv K`` outputs: per-fold scores in the trials table, K / mean / std in best_hyperparameters.json, the report."""

from __future__ import annotations

import json

import pandas as pd

from engines.experiment.layout import STUDY_NAME, experiment_paths
from engines.experiment.records import TrialRecord, fold_scores_at_best
from engines.experiment.settings import load_settings
from engines.report.report import fold_spread_lines
from engines.tune.outputs import write_experiment_outputs
from engines.tune.summary import summarise
from search_spaces import get_space

METADATA = {"method": "ray", "searcher": "optuna", "scheduler": "asha"}


def _records() -> list[TrialRecord]:
    return [TrialRecord("a", {"learning_rate": 0.001}, "complete", 0.55, [0.5, 0.55], epochs=2,
                        fold_val_accuracy=[0.5, 0.6], val_accuracy_std=0.05),
            TrialRecord("b", {"learning_rate": 0.01}, "stopped_early", 0.4, [0.4], epochs=1,
                        fold_val_accuracy=[0.3, 0.5], val_accuracy_std=0.1)]


def _write(tmp_path):
    settings = load_settings({"output_dir": str(tmp_path), "use_dummy_data": True, "name": "e1", "cv_folds": 2})
    paths = experiment_paths(settings)
    records = _records()
    summary = {**summarise(records, settings, run_wall_s=1.0, utilisation=None, finished=True),
               "val_majority_baseline": 0.2, "chance": 0.2, "val_baselines": [], **METADATA}
    write_experiment_outputs(records, summary, settings, paths, get_space(), data_description="synthetic",
                             study_names=[STUDY_NAME], metadata=METADATA)
    return paths


def test_the_best_file_carries_k_the_fold_mean_its_std_and_each_fold(tmp_path):
    _write(tmp_path)
    metadata = json.loads((tmp_path / "best_hyperparameters.json").read_text())["metadata"]
    assert metadata["best_score"] == 0.55 and metadata["cv_mean"] == 0.55
    assert metadata["cv_folds"] == 2 and metadata["cv_std"] == 0.05 and metadata["cv_fold_scores"] == [0.5, 0.6]


def test_the_trials_table_has_one_column_per_fold(tmp_path):
    paths = _write(tmp_path)
    table = pd.read_parquet(paths.local / "trials.parquet")
    assert list(table["fold_0/val_accuracy"]) == [0.5, 0.3] and list(table["fold_1/val_accuracy"]) == [0.6, 0.5]
    assert list(table["val_accuracy_std"]) == [0.05, 0.1]


def test_report_lists_the_top_configurations_with_their_fold_spread(tmp_path):
    paths = _write(tmp_path)
    lines = fold_spread_lines(paths.local)
    assert lines[0] == "Top 2 configurations by the mean of 2 folds (std, then each fold):"
    assert lines[1] == "  trial a: 55.0% (std 5.0%; folds 50.0%, 60.0%)"
    assert lines[2] == "  trial b: 40.0% (std 10.0%; folds 30.0%, 50.0%)"


def test_without_cv_there_are_no_fold_columns_fields_or_report_lines(tmp_path):
    settings = load_settings({"output_dir": str(tmp_path), "use_dummy_data": True, "name": "e0"})
    paths = experiment_paths(settings)
    records = [TrialRecord("a", {"learning_rate": 0.001}, "complete", 0.6, [0.6], epochs=1)]
    summary = {**summarise(records, settings, run_wall_s=1.0, utilisation=None, finished=True),
               "val_majority_baseline": 0.2, "chance": 0.2, "val_baselines": [], **METADATA}
    write_experiment_outputs(records, summary, settings, paths, get_space(), data_description="synthetic",
                             study_names=[STUDY_NAME], metadata=METADATA)
    metadata = json.loads((tmp_path / "best_hyperparameters.json").read_text())["metadata"]
    assert not {"cv_folds", "cv_mean", "cv_std"} & set(metadata)
    assert not [c for c in pd.read_parquet(paths.local / "trials.parquet").columns if c.startswith("fold_")]
    assert fold_spread_lines(paths.local) == []


def test_the_fold_scores_are_taken_at_the_epoch_of_the_best_mean():
    scores, std = fold_scores_at_best([0.4, 0.6, 0.5], [[0.3, 0.5, 0.6], [0.5, 0.7, 0.4]])
    assert scores == [0.5, 0.7] and abs(std - 0.1) < 1e-9
    assert fold_scores_at_best([], [[0.1]]) == ([], None) and fold_scores_at_best([0.5], []) == ([], None)
