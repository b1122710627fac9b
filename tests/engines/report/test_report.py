"""`report` on a small finished experiment and on a Ray experiment still running: the data behind every picture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engines.experiment.layout import STUDY_NAME
from engines.experiment.trials_table import write_trials_table
from engines.tune.outputs import write_optuna_study
from engines.report.plots import anytime_series, plot_anytime, plot_learning_curves, top_parameters
from engines.report.progress import read_progress
from engines.experiment.records import TrialRecord
from engines.report.report import run_report, summary_text
from engines.experiment.settings import load_settings
from search_spaces import get_space

MAX_EPOCHS = 9

# (status, validation accuracy per epoch): ASHA with grace 1 compares at epochs 1 and 3.
CURVES = [
    ("complete", [0.30, 0.42, 0.50, 0.55, 0.58, 0.61, 0.62, 0.64, 0.65]),
    ("complete", [0.25, 0.35, 0.45, 0.50, 0.52, 0.53, 0.55, 0.56, 0.57]),
    ("stopped_early", [0.20]),
    ("stopped_early", [0.22, 0.24, 0.26]),
    ("stopped_early", [0.28, 0.33, 0.37]),
    ("complete", [0.35, 0.45, 0.52, 0.57, 0.60, 0.63, 0.66, 0.68, 0.70]),
    ("failed", []),
]


def _records() -> list[TrialRecord]:
    records = []
    for i, (status, history) in enumerate(CURVES):
        params = {"learning_rate": 10 ** (-4 + i / 3), "batch_size": (16, 32, 64)[i % 3],
                  "optimizer": ("adam", "adamw", "rmsprop")[i % 3], "n_conv_blocks": 1 + i % 3,
                  "cnn_filters_0": 32 * (1 + i % 8), "kernel_size": (3, 5, 7)[i % 3], "pooling": "max",
                  "cnn_dropout": 0.05 * i, "use_lstm": False, "n_dense_layers": 1, "dense_units_0": 64,
                  "dense_dropout_0": 0.1, "l2": 1e-5 * (i + 1)}
        records.append(TrialRecord(
            trial_id=f"t{i}", params=params, status=status, best_val_accuracy=max(history) if history else None,
            val_accuracy_history=history, epochs=len(history), wall_time_s=2.0 * len(history),
            failure_reason="NonFiniteLossError: loss became nan" if status == "failed" else None,
        ))
    return records


@pytest.fixture
def finished_experiment(tmp_path: Path) -> Path:
    folder = tmp_path / "models" / "tuning" / "small"
    folder.mkdir(parents=True)
    records = _records()
    write_trials_table(records, folder)
    db = tmp_path / "models" / "tuning" / "optuna.db"
    write_optuna_study(records, f"sqlite:///{db}", [f"{STUDY_NAME}:small"], get_space())
    (folder / "config.json").write_text(json.dumps({"method": "ray", "scheduler": "asha", "max_epochs": MAX_EPOCHS,
                                                    "grace_period": 1, "name": "small"}))
    (folder / "summary.json").write_text(json.dumps({
        "finished": True, "best_val_accuracy": 0.70, "val_majority_baseline": 0.2, "chance": 0.2,
        "val_baselines": [{"name": "logistic regression", "val_accuracy": 0.5}, {"name": "RBF-SVM", "val_accuracy": 0.6}],
        "selection_warnings": ["warning: the validation split holds 2 subject(s) (fewer than 3): ..."],
    }))
    return folder


def test_learning_curves_draw_every_scored_trial_with_its_status_and_the_rungs(finished_experiment, tmp_path):
    progress = read_progress(finished_experiment)
    drawn = plot_learning_curves(progress, tmp_path / "curves.png", baseline=0.2)
    expected = {f"t{i}": (status, history) for i, (status, history) in enumerate(CURVES) if history}
    assert drawn["trials"] == expected  # the table stores the floats as given
    assert drawn["rungs"] == [1, 3] and drawn["best"] == "t5"
    assert (tmp_path / "curves.png").stat().st_size > 10_000


@pytest.mark.parametrize("method", ["keras-tuner", "optuna"])
def test_no_rungs_are_drawn_where_no_rung_based_scheduler_ran(finished_experiment, tmp_path, method):
    config = finished_experiment / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "method": method}))
    drawn = plot_learning_curves(read_progress(finished_experiment), tmp_path / "curves.png", baseline=0.2)
    assert drawn["rungs"] == []


def test_the_anytime_curve_is_the_running_best_over_every_epoch(finished_experiment, tmp_path):
    progress = read_progress(finished_experiment)
    series = anytime_series(progress)
    n_epochs = sum(len(h) for _, h in CURVES)
    assert series["epochs"] == list(range(1, n_epochs + 1))
    assert series["best"] == sorted(series["best"]) and series["best"][-1] == 0.70
    assert series["seconds"] == sorted(series["seconds"])
    assert not progress.times_measured  # no Ray timestamps: trial wall times laid end to end
    assert series["seconds"][-1] == pytest.approx(2.0 * n_epochs)
    plot_anytime(progress, tmp_path / "anytime.png")


def test_parameter_plots_keep_the_most_important_parameters_only(finished_experiment):
    import optuna

    study = optuna.load_study(study_name=f"{STUDY_NAME}:small",
                              storage=f"sqlite:///{finished_experiment.parent / 'optuna.db'}")
    top, importances, method = top_parameters(study, n=3)
    assert len(top) == 3 and set(top) <= set(importances) and "fANOVA" in method
    assert top == sorted(importances, key=importances.get, reverse=True)[:3]


def test_report_writes_every_picture_and_an_index_and_says_where_they_are(finished_experiment, capsys):
    settings = load_settings({"output_dir": str(finished_experiment.parents[1])}, None)
    assert run_report(settings, None) == 0
    out = capsys.readouterr().out
    plots = finished_experiment / "plots"
    for name in ("learning_curves", "anytime", "optimization_history", "parallel_coordinate", "slice"):
        assert (plots / f"{name}.png").is_file() and str(plots / f"{name}.png") in out
    # 6 finished trials: fANOVA would rank noise, so no importances, and the report says why.
    assert not (plots / "param_importances.png").exists()
    assert "skipped param_importances (fANOVA needs at least 20 finished trials" in out and "has 6)" in out
    assert (plots / "plotly.min.js").is_file()  # once, beside the pages
    assert all((plots / f"{n}.html").stat().st_size < 200_000 for n in ("optimization_history", "slice"))
    index = (plots / "index.html").read_text()
    assert "learning_curves.png" in index and "slice.html" in index
    assert "Classical baselines on the same validation split: logistic regression 50.0%, RBF-SVM 60.0%" in out
    assert "fewer than 3" in out and "run `make verify`" in out
    assert "failed t6: NonFiniteLossError" in out


def test_the_summary_puts_verifys_test_score_beside_the_best_validation_score(finished_experiment):
    (finished_experiment / "verify.json").write_text(json.dumps({
        "test_accuracy_tuned": [0.6, 0.62, 0.64], "experiment": str(finished_experiment),
        "baselines": [{"name": "RBF-SVM", "test_accuracy": 0.61}],
    }))
    text = summary_text(finished_experiment, str(finished_experiment.parents[1]))
    assert "best validation 70.0% vs tuned test 62.0% from verify (3 seeds): -8.0 points" in text
    assert "Classical baselines on the test split (verify): RBF-SVM 61.0%" in text




def test_importances_are_drawn_from_twenty_finished_trials_with_their_number_in_the_title(tmp_path):
    import optuna

    from engines.report.plots import plot_parameters

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: 0.5 + 0.1 * (t.suggest_float("learning_rate", 1e-4, 1e-2, log=True) > 1e-3)
                   + 0.01 * t.suggest_int("batch_size", 16, 64), n_trials=20)
    written, skipped = plot_parameters(study, tmp_path)
    assert "param_importances.png" in written and not skipped
