"""``--space pipeline`` through the real CLI: classical and CNN + LSTM trials under ASHA and HyperBand, features
computed once per configuration per node, and a preprocessing the data cannot support refused before any trial.

The scheduler test runs the CLI as a user does, in a process of its own (it checks what reaches the console); the
others call ``tune_cluster.main`` in this process, on the session's embedded Ray (a process start and a Ray start
less each).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _tune_process(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "tune_cluster.py"), "--use-dummy-data", "--smoke-test",
                           "--feature-cache", str(project / "cache"), *args],
                          cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)


@pytest.fixture
def cli(local_ray, monkeypatch, capsys, tmp_path):
    """``tune_cluster.main(argv)`` run from ``tmp_path`` as its working folder: its exit code and what it printed."""
    import tune_cluster

    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> subprocess.CompletedProcess:
        capsys.readouterr()
        code = tune_cluster.main(list(argv))
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(argv, code, captured.out, captured.err)

    return run


@pytest.fixture
def tune(cli, tmp_path):
    """A smoke tune with the feature cache in ``tmp_path``, in this process."""
    return lambda *args: cli("--use-dummy-data", "--smoke-test", "--feature-cache", str(tmp_path / "cache"), *args)


def _space_file(project: Path, text: str) -> str:
    path = project / "space.yaml"
    path.write_text("space: pipeline\n" + text)
    return str(path)


def _trials(project: Path) -> pd.DataFrame:
    (table,) = (project / "models" / "tuning").glob("*/trials.parquet")
    return pd.read_parquet(table)


@pytest.mark.parametrize("scheduler", ["asha", "hyperband"])
def test_classical_trials_finish_under_either_scheduler_with_their_time_node_and_every_rung(tmp_path, scheduler):
    space = _space_file(tmp_path, "model_family: {choices: [svm, logreg]}\nwindow_s: {choices: [1.0, 2.0]}\n")
    run = _tune_process(tmp_path, "--space", space, "--max-trials", "3", "--scheduler", scheduler, "--searcher", "optuna")
    assert run.returncode == 0, run.stderr[-3000:]
    trials = _trials(tmp_path)
    assert len(trials) == 3 and set(trials["config/model_family"]) <= {"svm", "logreg"}
    assert trials["status"].isin(["complete", "stopped_early"]).all()
    assert trials["hostname"].notna().all() and (trials["wall_time_s"] > 0).all() and (trials["cpus"] == 1).all()
    finished = trials[trials["status"] == "complete"]
    assert (finished["epochs"] == 2).all()  # reported at every epoch: every rung sees its full-resource score
    # One flat score per trial: a classical model has no learning curve.
    histories = [json.loads(h) if isinstance(h, str) else list(h) for h in finished["val_accuracy_history"]]
    assert histories and all(len(history) == 2 and len(set(history)) == 1 for history in histories), histories
    best = json.loads((tmp_path / "models" / "best_hyperparameters.json").read_text())["hyperparameters"]
    family = best["model_family"]
    assert {"svm": {"svm_C", "svm_gamma"}, "logreg": {"logreg_C"}}[family] <= set(best)
    assert not {"learning_rate", "n_conv_blocks"} & set(best)  # the CNN's knobs are inactive, so not kept
    assert "Checkpoint successfully" not in run.stdout and "snapshotting" not in run.stdout + run.stderr


def test_a_cnn_lstm_pipeline_trial_trains_on_its_own_features_and_the_cache_holds_one_file_per_configuration(tmp_path, tune):
    space = _space_file(tmp_path, "model_family: {choices: [cnn_lstm]}\nfeature_set: {choices: [de]}\n"
                                  "band_preset: {choices: [fine]}\nwindow_s: {choices: [1.0]}\n"
                                  "overlap: {choices: [0.5]}\nn_steps: {choices: [4]}\nsubject_norm: {choices: ['off']}\n")
    run = tune("--space", space, "--max-trials", "2", "--searcher", "random", "--scheduler", "fifo")
    assert run.returncode == 0, run.stderr[-3000:]
    trials = _trials(tmp_path)
    assert (trials["config/model_family"] == "cnn_lstm").all() and (trials["epochs"] == 2).all()
    assert trials["val_loss"].notna().all()  # a Keras fit, epoch by epoch
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1  # one preprocessing, computed once on this node
    assert not list((tmp_path / "cache").glob(".writing-*"))


def test_a_window_longer_than_a_recording_is_refused_at_load_and_nothing_is_written(tmp_path, tune):
    space = _space_file(tmp_path, "window_s: {choices: [2.0, 20.0]}\n")
    run = tune("--space", space, "--max-trials", "2")
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"error: {space}: window_s=20 is longer than the shortest recording (12 s)"], run.stderr
    assert not (tmp_path / "models").exists() and not (tmp_path / "cache").exists()


@pytest.mark.parametrize(("flags", "message"), [
    (("--cv", "2"), "--space pipeline scores each trial on the validation split; --cv 2"),
])
def test_what_the_pipeline_space_does_not_run_with_yet_is_refused_in_one_line(tmp_path, tune, flags, message):
    run = tune("--space", "pipeline", "--max-trials", "2", *flags)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1 and message in run.stderr, run.stderr
    assert not (tmp_path / "models").exists()


def test_train_and_verify_take_the_tuned_pipeline_file(tmp_path, cli, tune):
    space = _space_file(tmp_path, "model_family: {choices: [logreg]}\n")
    assert tune("--space", space, "--max-trials", "2").returncode == 0
    hparams = str(tmp_path / "models" / "best_hyperparameters.json")
    for command in ("train", "verify"):
        run = cli(command, "--use-dummy-data", "--smoke-test", "--hparams", hparams, "--feature-cache",
                  str(tmp_path / "cache"), *(("--seeds", "2") if command == "verify" else ()))
        assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((tmp_path / "models" / "train_metrics.json").read_text())
    assert metrics["model"].endswith("emotion_model.pkl") and 0 <= metrics["test"]["accuracy"] <= 1
    verify = json.loads((tmp_path / "models" / "verify.json").read_text())
    assert len(verify["test_accuracy_tuned"]) == len(verify["test_accuracy_default"]) == 2
    versus = verify["pipeline_vs_best_baseline"]
    assert versus["unit"] == "test recordings" and versus["n_units"] == len(versus["tuned_by_unit"]) >= 3
    assert set(versus["tuned_by_unit"]) == set(versus["baseline_by_unit"])
    assert "Tuned pipeline vs " in run.stdout and "(the best baseline on test)" in run.stdout


def test_accuracy_and_latency_give_a_pareto_front_whose_knee_is_recommended_and_drawn(tmp_path, cli, tune):
    run = tune("--space", "pipeline", "--max-trials", "3", "--objective", "accuracy,latency")
    assert run.returncode == 0, run.stderr[-3000:]
    front = json.loads((tmp_path / "models" / "pareto_front.json").read_text())
    (experiment,) = (tmp_path / "models" / "tuning").glob("pipeline_optuna_asha_*")
    assert json.loads((experiment / "pareto_front.json").read_text()) == front
    trials = _trials(tmp_path)
    assert trials["latency_ms"].notna().all() and (trials["latency_ms"] > 0).all() and (trials["n_params"] > 0).all()
    points = {p["trial_id"]: (p["val_accuracy"], p["latency_ms"]) for p in front["front"]}
    for trial_id, (accuracy, latency) in points.items():  # nothing in the table beats a front point on both
        better = trials[(trials["best_val_accuracy"] >= accuracy) & (trials["latency_ms"] <= latency)
                        & (trials["trial_id"] != trial_id)]
        assert ((better["best_val_accuracy"] == accuracy) & (better["latency_ms"] == latency)).all()
    best = json.loads((tmp_path / "models" / "best_hyperparameters.json").read_text())
    knee = next(p for p in front["front"] if p["trial_id"] == front["knee_trial"])
    assert best["hyperparameters"] == knee["hyperparameters"] and best["metadata"]["objective"] == "accuracy,latency"
    assert f"Knee trial {front['knee_trial']}" in run.stdout and "Pareto front (val_accuracy up" in run.stdout
    report = cli("report")
    assert report.returncode == 0, report.stderr[-2000:]
    assert (experiment / "plots" / "pareto_front.png").stat().st_size > 10_000


@pytest.mark.parametrize(("flags", "message"), [
    (("--searcher", "hyperopt"), "--objective accuracy,latency needs --searcher optuna"),
    (("--method", "keras-tuner"), "--objective accuracy,latency runs with --method ray --searcher optuna"),
    (("--cv", "2"), "--objective accuracy,latency scores one validation split; --cv 2 is for --objective accuracy"),
])
def test_several_objectives_are_refused_where_the_searcher_takes_one(tmp_path, cli, flags, message):
    run = cli("--use-dummy-data", "--smoke-test", "--objective", "accuracy,latency", "--max-trials", "2", *flags)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1 and message in run.stderr, run.stderr
    assert not (tmp_path / "models").exists()


def test_a_deap_folder_is_tuned_as_a_pipeline_from_its_raw_trials(tmp_path, cli):
    from tests.eeg.test_deap import write_deap_file

    folder = tmp_path / "deap" / "data_preprocessed_python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for subject in (1, 2, 3):  # DEAP's layout, 6 trials of 12 s: 3 low and 3 high valence each
        data = rng.standard_normal((6, 40, 128 * 15)).astype(np.float32)
        ratings = np.tile([[2.0, 5.0, 5.0, 5.0], [8.0, 5.0, 5.0, 5.0]], (3, 1))
        write_deap_file(folder / f"s{subject:02d}.dat", data, ratings)
    space = _space_file(tmp_path, "model_family: {choices: [svm, logreg]}\n")
    run = cli("--data", str(tmp_path / "deap"), "--dataset", "deap", "--label-rule", "valence", "--space", space,
              "--max-trials", "2", "--max-epochs", "2", "--feature-cache", str(tmp_path / "cache"))
    assert run.returncode == 0, run.stderr[-3000:]
    trials = _trials(tmp_path)
    assert len(trials) == 2 and trials["best_val_accuracy"].notna().all()
    assert list((tmp_path / "cache").glob("*.npz"))


@pytest.mark.parametrize("method", [("--method", "optuna", "--scheduler", "median"),
                                    ("--method", "keras-tuner", "--tuning-algorithm", "random")])
def test_the_single_machine_methods_tune_the_pipeline_with_the_same_trial_records(tmp_path, tune, method):
    space = _space_file(tmp_path, "model_family: {choices: [cnn_lstm, logreg]}\nn_conv_blocks: {low: 1, high: 2}\n")
    run = tune(*method, "--space", space, "--max-trials", "3")
    assert run.returncode == 0, run.stderr[-3000:]
    trials = _trials(tmp_path)
    assert len(trials) == 3 and set(trials["config/model_family"]) <= {"cnn_lstm", "logreg"}
    assert trials["status"].isin(["complete", "stopped_early"]).all() and (trials["latency_ms"] > 0).all()
    logreg = trials[trials["config/model_family"] == "logreg"]
    assert (logreg["epochs"] == 2).all()  # a classical trial reports its one score at every step, as on Ray
    best = json.loads((tmp_path / "models" / "best_hyperparameters.json").read_text())
    assert best["metadata"]["method"] == method[1] and "model_family" in best["hyperparameters"]


def test_native_optuna_runs_both_objectives_in_one_study_and_recommends_the_knee(tmp_path, tune):
    import optuna

    run = tune("--method", "optuna", "--space", "pipeline", "--max-trials", "3",
                "--objective", "accuracy,latency")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "no trial is pruned" in run.stdout
    front = json.loads((tmp_path / "models" / "pareto_front.json").read_text())
    best = json.loads((tmp_path / "models" / "best_hyperparameters.json").read_text())
    knee = next(p for p in front["front"] if p["trial_id"] == front["knee_trial"])
    assert best["hyperparameters"] == knee["hyperparameters"]
    study = optuna.load_study(study_name=best["metadata"]["study"],
                              storage=f"sqlite:///{tmp_path / 'models' / 'tuning' / 'optuna.db'}")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert all(len(t.values) == 2 and t.values[1] > 0 for t in study.trials)
    assert (_trials(tmp_path)["epochs"] == 2).all()  # nothing pruned: every trial ran its epochs
