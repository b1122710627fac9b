"""Trial faults on an embedded Ray, injected for real: a worker process SIGKILLed, a loss that goes to infinity.

A killed trial is an error Ray may retry; one that outlived its retries is retried by
``--resume`` from its last checkpoint. A NaN/Inf loss is deterministic: the trial ends
once as diverged, nothing retries it, and the other trials run on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cluster.overnight import trial_reports

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


def test_resume_retries_a_trial_that_errored_from_its_checkpoint(tmp_path):
    out, folder = tmp_path / "out", tmp_path / "out" / "tuning" / "killed"
    # Real-size trials (not --smoke-test) so the kill lands mid-trial; no retries, so the error sticks.
    flags = ("--use-dummy-data", "--max-trials", "2", "--max-epochs", "4", "--checkpoint-every", "1",
             "--max-failures", "0")
    process = subprocess.Popen(_tune(out, "killed", *flags), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline, victim = time.time() + 300, None
        while victim is None and time.time() < deadline:
            assert process.poll() is None, process.stdout.read()
            for trial_dir in folder.glob("trial_*"):
                rows = trial_reports(trial_dir)
                if len(rows) >= 2:  # two epochs reported and checkpointed
                    victim = trial_dir, rows[-1]["pid"]
            time.sleep(0.2)
        assert victim is not None, "no trial reached its second epoch"
        os.kill(victim[1], signal.SIGKILL)  # the trial's worker process dies, as under the OOM killer
        output, _ = process.communicate(timeout=400)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output[-4000:]  # the other trial completed
    first = pd.read_parquet(folder / "trials.parquet").set_index("trial_id")
    killed_id = victim[0].name.removeprefix("trial_")
    assert first.loc[killed_id, "status"] == "failed", first
    assert "1 complete, 0 stopped early, 1 failed after retries" in output
    reported_before = [row["epoch"] for row in trial_reports(victim[0])]

    resumed = subprocess.run(_tune(out, "killed", "--resume"), cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert resumed.returncode == 0, resumed.stdout[-4000:] + resumed.stderr[-3000:]
    assert "already finished" not in resumed.stdout
    table = pd.read_parquet(folder / "trials.parquet").set_index("trial_id")
    assert set(table["status"]) == {"complete"} and len(table) == 2, table
    epochs = [row["epoch"] for row in trial_reports(victim[0])]
    # The retry continued after its last checkpoint: the first epoch it reported is that checkpoint's + 1.
    assert epochs[len(reported_before):] == list(range(reported_before[-1] + 1, 5)), epochs
    assert table.loc[killed_id, "retries"] >= 1
