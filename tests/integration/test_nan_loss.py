"""A loss that goes to infinity, for real: the trial ends once as diverged, nothing retries it, the others run on.

A NaN/Inf loss is deterministic, unlike a killed worker (test_resume.py: SIGKILLed mid-trial,
then retried by ``--resume`` from its last checkpoint), so retrying it would only repeat it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _tune(output_dir: Path, name: str, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "tune_cluster.py"), "--scheduler", "fifo", "--max-concurrent", "1",
            "--name", name, "--output-dir", str(output_dir), "--verbose", "0", *extra]


def test_a_nan_loss_ends_each_trial_once_as_diverged_and_the_run_goes_on(tmp_path):
    # An L2 penalty so large that the first epoch's loss overflows float32: inf, then NaN, as a bad config does.
    space = tmp_path / "space.yaml"
    space.write_text("l2: {low: 1.0e+37, high: 3.0e+38}\n")

    run = subprocess.run(_tune(tmp_path / "out", "nan", "--use-dummy-data", "--smoke-test", "--max-trials", "3",
                               "--space", str(space)), cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert "no trial finished (0 failed, 3 diverged)" in run.stdout
    table = pd.read_parquet(tmp_path / "out" / "tuning" / "nan" / "trials.parquet")
    assert set(table["status"]) == {"diverged"} and len(table) == 3  # the run went on after the first one
    assert (table["retries"] == 0).all() and (table["epochs"] == 1).all()  # once each: --max-failures 3 unused
    assert table["failure_reason"].str.startswith("NonFiniteLossError: loss became").all()
    assert not (tmp_path / "out" / "best_hyperparameters.json").exists()  # nothing to recommend
