"""`train` and `verify` on the held-out test split, always beside the majority baseline."""

from __future__ import annotations

import json

import pytest

import tune_cluster

pytestmark = pytest.mark.slow


def test_the_guides_example_file_trains_and_evaluates(guide_hparams_file, tmp_path, capsys):
    output = tmp_path / "models"
    code = tune_cluster.main(
        ["train", "--hparams", str(guide_hparams_file), "--use-dummy-data", "--smoke-test", "--output-dir", str(output)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Test accuracy:" in out and "majority baseline" in out and "chance" in out
    assert (output / "emotion_model.keras").stat().st_size > 0
    metrics = json.loads((output / "train_metrics.json").read_text())
    assert metrics["hyperparameters"]["cnn_filters_0"] == 96  # from the file
    assert metrics["hyperparameters"]["kernel_size"] == 3  # not in the file: the default
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
    assert "no --hparams given" not in out


def test_train_without_hparams_says_in_one_line_that_it_trains_the_default(tmp_path, capsys):
    output = tmp_path / "models"
    code = tune_cluster.main(["train", "--use-dummy-data", "--smoke-test", "--output-dir", str(output)])
    notes = [line for line in capsys.readouterr().out.splitlines() if "no --hparams given" in line]
    assert code == 0 and len(notes) == 1 and "trains the default configuration" in notes[0]
    assert json.loads((output / "train_metrics.json").read_text())["hparams_file"] is None


def test_verify_prints_before_after_and_improvement_with_an_interval(guide_hparams_file, tmp_path, capsys):
    code = tune_cluster.main(
        ["verify", "--hparams", str(guide_hparams_file), "--use-dummy-data", "--smoke-test", "--seeds", "2",
         "--output-dir", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Before optimization:" in out and "After optimization:" in out
    assert "Improvement:" in out and "95% CI" in out and "Majority baseline" in out
    result = json.loads((tmp_path / "verify.json").read_text())
    assert len(result["test_accuracy_default"]) == len(result["test_accuracy_tuned"]) == 2
