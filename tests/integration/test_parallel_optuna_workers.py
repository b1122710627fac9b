"""The guide's 8.2: several copies of ``--method optuna`` started together share one study.

Small numbers (3 workers x 2 trials x 2 epochs, smoke data); each copy is a real process
through the real entry point, all started at once, sharing ``<output-dir>/tuning/optuna.db``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _start_workers(output_dir: Path, count: int, *extra: str) -> list[subprocess.CompletedProcess]:
    command = [sys.executable, str(ROOT / "tune_cluster.py"), "--method", "optuna", "--max-trials", "2",
               "--max-epochs", "2", "--use-dummy-data", "--smoke-test", "--verbose", "0",
               "--output-dir", str(output_dir), *extra]
    processes = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(count)]
    results = []
    for process in processes:
        out, _ = process.communicate(timeout=600)
        results.append(subprocess.CompletedProcess(command, process.returncode, out, None))
    return results


def _study(output_dir: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{output_dir / 'tuning' / 'optuna.db'}")


def _assert_one_shared_study(output_dir: Path, experiment: str, workers: int, trials_each: int) -> None:
    study = _study(output_dir, f"emotion_recognition_optuna:{experiment}")
    trials = study.trials
    assert len(trials) == workers * trials_each  # none lost, none counted twice
    assert {t.state.name for t in trials} <= {"COMPLETE", "PRUNED"}
    by_worker = pd.Series([t.user_attrs["worker"] for t in trials]).value_counts()
    assert sorted(by_worker.index) == list(range(workers)) and set(by_worker) == {trials_each}
    configs = {json.dumps(t.params, sort_keys=True) for t in trials}
    assert len(configs) == len(trials)  # each worker samples with its own seed stream
    # The guide's 8.4 study, rewritten under the lock by the last worker to finish: every trial.
    assert len(_study(output_dir, "emotion_recognition_optuna").trials) == workers * trials_each
    table = pd.read_parquet(output_dir / "tuning" / experiment / "trials.parquet")
    assert len(table) == workers * trials_each
    summary = json.loads((output_dir / "tuning" / experiment / "summary.json").read_text())
    assert summary["finished"] is True and summary["workers"] == workers


def test_three_workers_started_together_with_one_name_end_with_every_trial_in_one_study(tmp_path):
    results = _start_workers(tmp_path, 3, "--name", "shared")
    for result in results:
        assert result.returncode == 0, result.stdout
        assert "Traceback" not in result.stdout
    _assert_one_shared_study(tmp_path, "shared", workers=3, trials_each=2)


def test_the_guides_loop_without_a_name_finds_one_study_from_the_settings(tmp_path):
    results = _start_workers(tmp_path, 2)
    for result in results:
        assert result.returncode == 0, result.stdout
    experiments = [p.name for p in (tmp_path / "tuning").iterdir() if p.is_dir()]
    assert len(experiments) == 1 and experiments[0].startswith("cnn_lstm_optuna-native_asha_"), experiments
    _assert_one_shared_study(tmp_path, experiments[0], workers=2, trials_each=2)
