"""`train` and `verify` beside the classical baselines; `verify --folds` across subjects; a bad --folds is one line."""

from __future__ import annotations

import json

import pytest

import tune_cluster


@pytest.mark.parametrize("value", ["2", "five", "-3"])
def test_a_bad_folds_value_exits_2_with_one_line_and_writes_nothing(guide_hparams_file, tmp_path, capsys, value):
    output = tmp_path / "out"
    code = tune_cluster.main(["verify", "--hparams", str(guide_hparams_file), "--use-dummy-data", "--folds", value,
                              "--output-dir", str(output)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--folds must be a whole number >= 3 or 'loso'" in err
    assert not output.exists()


@pytest.mark.slow
def test_verify_names_the_best_classical_baseline_and_whether_tuning_beats_it(guide_hparams_file, tmp_path, capsys):
    code = tune_cluster.main(["verify", "--hparams", str(guide_hparams_file), "--use-dummy-data", "--smoke-test",
                              "--seeds", "2", "--output-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Classical baselines on the same test split: logistic regression" in out and "RBF-SVM" in out
    assert "Best classical baseline:" in out and "Tuned vs " in out and "95% CI" in out
    assert "Best trial's validation accuracy 87.4%" in out  # the guide's example file's best_score
    result = json.loads((tmp_path / "verify.json").read_text())
    assert {b["key"] for b in result["baselines"]} == {"logistic_regression", "rbf_svm"}


@pytest.mark.slow
def test_verify_folds_reports_the_mean_and_interval_over_subject_folds(guide_hparams_file, tmp_path, capsys):
    code = tune_cluster.main(["verify", "--hparams", str(guide_hparams_file), "--use-dummy-data", "--smoke-test",
                              "--folds", "3", "--output-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "3 subject folds" in out and "Cross-subject, mean over 3 folds" in out
    assert "Improvement:" in out and "over 3 folds" in out and "Best classical baseline:" in out
    result = json.loads((tmp_path / "verify_folds.json").read_text())
    assert len(result["folds"]) == 3
    held_out = [s for fold in result["folds"] for s in fold["subjects"]]
    assert sorted(held_out) == sorted(set(held_out))  # each subject evaluated in one fold only
