"""The experiment's output files: the guide's JSON only when finished, the trials table, the study and the summary."""

from __future__ import annotations

import json

import optuna

from engines.experiment.layout import STUDY_NAME, experiment_paths
from engines.experiment.records import TrialRecord
from engines.experiment.settings import load_settings
from engines.tune.outputs import best_hyperparameters_document, write_experiment_outputs
from search_spaces import get_space

METADATA = {"method": "ray", "searcher": "optuna", "scheduler": "asha"}


def write(tmp_path, finished: bool):
    settings = load_settings({"output_dir": str(tmp_path), "use_dummy_data": True, "name": "e1"}, None)
    paths = experiment_paths(settings)
    records = [TrialRecord("a", {"learning_rate": 0.001}, "complete", 0.6, [0.5, 0.6], epochs=2)]
    summary = {"best_trial": "a", "best_params": {"learning_rate": 0.001}, "best_val_accuracy": 0.6, "trials": 1,
               "finished": finished, "val_majority_baseline": 0.2, "chance": 0.2,
               "val_baselines": [{"name": "RBF-SVM", "val_accuracy": 0.5}], **METADATA}
    written = write_experiment_outputs(records, summary, settings, paths, get_space(), data_description="synthetic",
                                       study_names=[STUDY_NAME, paths.study_name], metadata=METADATA)
    return paths, written


def test_a_finished_search_writes_the_guides_json_table_studies_and_summary(tmp_path):
    paths, written = write(tmp_path, finished=True)
    assert written.best_file == tmp_path / "best_hyperparameters.json"
    document = json.loads(written.best_file.read_text())
    assert document["hyperparameters"] == {"learning_rate": 0.001}
    assert document["metadata"]["best_score"] == 0.6 and document["metadata"]["val_baselines"] == {"RBF-SVM": 0.5}
    assert document["metadata"]["data"] == "synthetic" and document["metadata"]["experiment_name"] == "e1"
    assert written.trials_table.is_file() and json.loads(paths.summary_file.read_text())["best_trial"] == "a"
    study = optuna.load_study(study_name=STUDY_NAME, storage=paths.optuna_url)
    assert [t.value for t in study.trials] == [0.6]


def test_an_unfinished_search_leaves_the_output_dirs_json_alone(tmp_path):
    paths, written = write(tmp_path, finished=False)
    assert written.best_file == paths.local / "best_hyperparameters.json"
    assert not (tmp_path / "best_hyperparameters.json").exists()


def test_the_document_keeps_the_guides_schema_with_a_timestamp():
    document = best_hyperparameters_document({"lstm_units": 64}, {"best_score": 0.5})
    assert set(document) == {"hyperparameters", "metadata"} and "timestamp" in document["metadata"]
