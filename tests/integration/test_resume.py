"""One interrupted experiment on an embedded Ray, its faults injected for real, continued with --resume.

A trial's worker process is SIGKILLed mid-trial (as by the OOM killer; no retries, so the error
sticks), the run goes on, and Ctrl-C (SIGINT) then cuts it short with a trial half done and
others not started. ``--resume`` must retry the errored trial from its last checkpoint, continue
the cut-off one, run the rest and rerun none that finished; a conflicting flag is refused, and
a finished experiment has nothing left to do.
"""

from __future__ import annotations

import json
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


# Not --smoke-test: its tiny trials (~0.3 s) finish before a driver under load acts on a signal. Six trials: with
# four, on a loaded CI machine the last ones had finished by the time the SIGINT landed (exit 0, nothing to resume).
# A checkpoint every epoch slows the epochs enough that the kill lands while its trial still runs (with actor
# reuse a late kill hits the next trial in the same process).
TRIALS, EPOCHS = 6, 4


def _tune(output_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, str(ROOT / "tune_cluster.py"), "--use-dummy-data", "--max-trials", str(TRIALS),
        "--max-epochs", str(EPOCHS), "--grace-period", "1", "--max-failures", "0", "--checkpoint-every", "1",
        "--max-concurrent", "1", "--scheduler", "fifo", "--name", "interrupted", "--output-dir", str(output_dir),
        "--verbose", "0", *extra,
    ]


def _iterations(folder: Path) -> dict[str, int]:
    counts = {}
    for progress in folder.glob("trial_*/progress.csv"):
        counts[progress.parent.name] = max(0, len(progress.read_text().strip().splitlines()) - 1)
    return counts


def _epochs(folder: Path) -> dict[str, list[int]]:
    """The epochs each trial reported, in order (a retried stretch appears twice)."""
    return {progress.parent.name: pd.read_csv(progress)["epoch"].astype(int).tolist()
            for progress in folder.glob("trial_*/progress.csv")}


def _interrupted_run(tmp_path: Path, folder: Path) -> tuple[subprocess.Popen, Path, list[int]]:
    """Kill the worker of the first trial that reported two epochs; SIGINT once another finished and a third began."""
    process = subprocess.Popen(_tune(tmp_path), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline, victim = time.time() + 400, None
    try:
        while victim is None and time.time() < deadline:
            assert process.poll() is None, process.stdout.read()
            for trial_dir in folder.glob("trial_*"):
                rows = trial_reports(trial_dir)
                if 2 <= len(rows) < EPOCHS:  # two epochs reported and checkpointed, two to go
                    victim = trial_dir, rows[-1]["pid"]
            time.sleep(0.2)
        assert victim is not None, "no trial reached its second epoch"
        os.kill(victim[1], signal.SIGKILL)
        reported_before_kill = [row["epoch"] for row in trial_reports(victim[0])]

        def finished_other_and_third_started() -> bool:
            counts = _iterations(folder)
            return len(counts) >= 3 and any(n == EPOCHS for name, n in counts.items() if name != victim[0].name)

        while time.time() < deadline and not finished_other_and_third_started():
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.5)
        process.send_signal(signal.SIGINT)  # what Ctrl-C or a scheduler's preemption sends
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return process, victim[0], reported_before_kill


def test_an_interrupted_experiment_with_a_killed_trial_resumes_to_the_requested_trials_rerunning_none(
        tmp_path, capsys):
    import tune_cluster

    folder = tmp_path / "tuning" / "interrupted"
    process, victim, reported_before_kill = _interrupted_run(tmp_path, folder)
    output = process.stdout.read()
    assert process.returncode == 130, output  # interrupted, resumable: not "all trials failed"
    assert "1 failed after retries" in output, output
    killed_id = victim.name.removeprefix("trial_")
    assert pd.read_parquet(folder / "trials.parquet").set_index("trial_id").loc[killed_id, "status"] == "failed"
    before = _iterations(folder)
    finished_before = {name for name, n in before.items() if n == EPOCHS and name != victim.name}
    assert finished_before, before
    summary = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").exists() else {}
    assert not summary.get("finished", False)

    # A refusal starts nothing: checked in this process.
    assert tune_cluster.main(_tune(tmp_path, "--resume", "--searcher", "hyperopt")[2:]) == 2
    assert "was run with --searcher 'optuna'" in capsys.readouterr().err  # not a mixed experiment

    resumed = subprocess.run(_tune(tmp_path, "--resume"), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "already finished" not in resumed.stdout
    after = _epochs(folder)
    assert len(after) == TRIALS and all(epochs[-1] == EPOCHS for epochs in after.values()), after
    for name in finished_before:
        assert len(after[name]) == before[name]  # not rerun: no new epochs reported
    for name, epochs in after.items():
        # A trial cut off mid-run continues after its last checkpoint: with --checkpoint-every auto it may train
        # again the epochs reported since then, never from nothing (the first epoch always saves).
        restarts = [i for i in range(1, len(epochs)) if epochs[i] <= epochs[i - 1]]
        assert len(restarts) <= 1 and epochs.count(1) == 1, (name, epochs)
        assert sorted(set(epochs)) == list(range(1, EPOCHS + 1)), (name, epochs)
    # The killed trial was retried from the last checkpoint its first attempt saved (Ray names a report's
    # checkpoint in checkpoint_dir_name), not from scratch.
    reports = trial_reports(victim)
    first_attempt = reports[:len(reported_before_kill)]
    saved = [r["epoch"] for r in first_attempt if r.get("checkpoint_dir_name")]
    retried = [r["epoch"] for r in reports[len(first_attempt):]]
    assert saved and retried == list(range(max(saved) + 1, EPOCHS + 1)), (reported_before_kill, saved, retried)

    trials = pd.read_parquet(folder / "trials.parquet").set_index("trial_id")
    assert len(trials) == TRIALS and set(trials["status"]) == {"complete"}
    assert trials.loc[killed_id, "retries"] >= 1
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["finished"] is True
    # This run's nodes and time only: a new local Ray is one node, and the first run's trial seconds are not
    # this run's work (counted in, they made 146% of this run's 2 CPUs; --resume continues the killed and the
    # cut-off trial at once, whatever --max-concurrent says, so up to both CPUs are busy).
    assert len(summary["nodes"]) == 1, summary["nodes"]
    assert 0 < summary["worker_utilisation"] <= 1.0, summary

    assert tune_cluster.main(_tune(tmp_path, "--resume")[2:]) == 0
    assert "already finished" in capsys.readouterr().out
