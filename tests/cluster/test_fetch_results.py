"""What `make results` runs for cloud storage (cluster/fetch_results.py), here on a local folder as the storage."""

from __future__ import annotations

from cluster.fetch_results import main


def test_an_experiment_and_its_outputs_are_fetched_into_the_results_folder(tmp_path, capsys):
    storage, results = tmp_path / "storage", tmp_path / "models"
    (storage / "e1" / "trial_a").mkdir(parents=True)
    (storage / "e1" / "trial_a" / "result.json").write_text("{}\n")
    (storage / "e1" / "eeg_outputs" / "tuning" / "e1").mkdir(parents=True)
    (storage / "e1" / "eeg_outputs" / "best_hyperparameters.json").write_text('{"hyperparameters": {}}')
    assert main([str(storage), "e1", str(results)]) == 0
    assert (results / "best_hyperparameters.json").is_file()
    assert (results / "tuning" / "e1" / "ray_results" / "trial_a" / "result.json").is_file()


def test_a_missing_experiment_or_wrong_arguments_exit_2_with_one_line(tmp_path, capsys):
    (tmp_path / "storage").mkdir()
    assert main([str(tmp_path / "storage"), "nope", str(tmp_path / "models")]) == 2
    assert capsys.readouterr().err.startswith("error: results: --name: no experiment named 'nope'")
    assert main(["only-one"]) == 2 and "usage: fetch_results.py" in capsys.readouterr().err
