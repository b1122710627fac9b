"""Every trial's per-epoch progress, read from whatever an experiment holds so far: table, Ray folders, Optuna study."""

from __future__ import annotations

import json
from pathlib import Path

import optuna

from engines.experiment.layout import STUDY_NAME
from engines.experiment.settings import load_settings
from engines.report.plots import anytime_series
from engines.report.progress import asha_rungs, load_study, read_progress
from engines.report.report import run_report


def test_asha_rungs_are_grace_times_powers_of_three_below_max_epochs():
    assert asha_rungs(2, 12) == [2, 6]
    assert asha_rungs(1, 9) == [1, 3]
    assert asha_rungs(1, 28) == [1, 3, 9, 27]


def _ray_trial(folder: Path, trial_id: str, values: list[float], start: int) -> None:
    trial = folder / f"trial_{trial_id}"
    trial.mkdir(parents=True)
    rows = [json.dumps({"val_accuracy": v, "training_iteration": i + 1, "timestamp": start + 10 * (i + 1),
                        "trial_id": trial_id}) for i, v in enumerate(values)]
    (trial / "result.json").write_text("\n".join(rows) + "\n{\"val_accura")  # a line being written
    (trial / "params.json").write_text(json.dumps({"learning_rate": 0.001}))


def test_a_running_ray_experiment_is_read_from_its_trial_folders(tmp_path, capsys):
    folder = tmp_path / "models" / "tuning" / "live"
    _ray_trial(folder, "a", [0.3, 0.4, 0.5], 1000)
    _ray_trial(folder, "b", [0.2], 1005)
    _ray_trial(folder, "c", [0.35, 0.45], 1010)
    state = {"trial_data": [[json.dumps({"trial_id": "a", "status": "RUNNING"}), "{}"],
                            [json.dumps({"trial_id": "b", "status": "TERMINATED"}), "{}"],
                            [json.dumps({"trial_id": "c", "status": "PENDING"}), "{}"]]}
    (folder / "experiment_state-2026-01-01_00-00-00.json").write_text(json.dumps(state))
    (folder / "config.json").write_text(json.dumps({"method": "ray", "scheduler": "asha", "max_epochs": 9,
                                                    "grace_period": 1}))
    progress = read_progress(folder)
    assert progress.source == "Ray trial folders" and not progress.finished and progress.times_measured
    assert {t.trial_id: t.status for t in progress.trials} == {"a": "running", "b": "stopped_early", "c": "running"}
    assert anytime_series(progress)["best"][-1] == 0.5
    settings = load_settings({"output_dir": str(tmp_path / "models")}, None)
    assert run_report(settings, None) == 0
    out = capsys.readouterr().out
    assert "still running" in out and "learning_curves.png" in out
    assert "written when the run ends" in out


def test_a_native_optuna_run_is_read_from_its_study_with_each_states_status(tmp_path):
    folder = tmp_path / "tuning" / "native"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"method": "optuna", "max_epochs": 3}))
    study = optuna.create_study(study_name=f"{STUDY_NAME}:native", storage=f"sqlite:///{tmp_path / 'tuning' / 'optuna.db'}",
                                direction="maximize")
    for state, values, attrs in (("COMPLETE", [0.3, 0.4, 0.5], {}), ("COMPLETE", [0.3], {}), ("PRUNED", [0.2], {}),
                                 ("FAIL", [0.1], {"failure_reason": "NonFiniteLossError: loss became nan"})):
        study.add_trial(optuna.trial.create_trial(
            state=getattr(optuna.trial.TrialState, state), value=values[-1] if state == "COMPLETE" else None,
            intermediate_values=dict(enumerate(values, 1)), user_attrs=attrs))
    assert load_study(folder, {}).study_name == f"{STUDY_NAME}:native"
    progress = read_progress(folder)
    assert progress.source == "Optuna study" and not progress.finished
    assert [t.status for t in progress.trials] == ["complete", "stopped_early", "stopped_early", "diverged"]


def test_a_folder_with_no_study_has_no_progress_and_no_study(tmp_path):
    folder = tmp_path / "tuning" / "empty"
    folder.mkdir(parents=True)
    assert load_study(folder, {}) is None
    assert read_progress(folder).trials == []
