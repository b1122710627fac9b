"""A loss that goes to infinity, for real: the trial ends once as diverged, nothing retries it, the others run on.

A NaN/Inf loss is deterministic, unlike a killed worker (test_resume.py: SIGKILLed mid-trial,
then retried by ``--resume`` from its last checkpoint), so retrying it would only repeat it. The CLI runs in this
process, on the session's embedded Ray: no process boundary is under test.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def _tune(output_dir: Path, name: str, *extra: str) -> list[str]:
    return ["--scheduler", "fifo", "--max-concurrent", "1", "--name", name, "--output-dir", str(output_dir),
            "--verbose", "0", *extra]


def test_a_nan_loss_ends_each_trial_once_as_diverged_and_the_run_goes_on(local_ray, tmp_path, capsys):
    import tune_cluster

    # An L2 penalty so large that the first epoch's loss overflows float32: inf, then NaN, as a bad config does.
    space = tmp_path / "space.yaml"
    space.write_text("l2: {low: 1.0e+37, high: 3.0e+38}\n")

    code = tune_cluster.main(_tune(tmp_path / "out", "nan", "--use-dummy-data", "--smoke-test", "--max-trials", "3",
                                   "--space", str(space)))
    run = capsys.readouterr()
    assert code == 1, run.out[-3000:] + run.err[-3000:]
    assert "no trial finished (0 failed, 3 diverged)" in run.out
    table = pd.read_parquet(tmp_path / "out" / "tuning" / "nan" / "trials.parquet")
    assert set(table["status"]) == {"diverged"} and len(table) == 3  # the run went on after the first one
    assert (table["retries"] == 0).all() and (table["epochs"] == 1).all()  # once each: --max-failures 3 unused
    assert table["failure_reason"].str.startswith("NonFiniteLossError: loss became").all()
    assert not (tmp_path / "out" / "best_hyperparameters.json").exists()  # nothing to recommend
