"""--storage s3://... end to end against an S3-compatible server on 127.0.0.1 (moto).

A run killed mid-way (SIGKILL: nothing of the driver gets to clean up) continues with --resume
on a clean --output-dir from what the bucket holds, the experiment's settings included, and
`make results` fetches the experiment and its outputs from the bucket without any head.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
NAME, TRIALS = "s3-run", 3


def _tune(storage: str, output_dir: Path, *extra: str, trials: int = TRIALS) -> list[str]:
    return [
        sys.executable, str(ROOT / "tune_cluster.py"), "--use-dummy-data", "--smoke-test", "--max-trials", str(trials),
        "--max-concurrent", "1", "--scheduler", "fifo", "--checkpoint-every", "1", "--name", NAME, "--storage", storage,
        "--output-dir", str(output_dir), "--verbose", "0", *extra,
    ]


def _refused(capsys, command: list[str]) -> str:
    """Run ``command`` in this process (a refusal starts nothing): its one stderr line, after checking exit 2."""
    import tune_cluster

    code = tune_cluster.main(command[2:])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    return err


def _bucket_files(s3_server, prefix: str) -> list[str]:
    import pyarrow.fs

    fs = pyarrow.fs.S3FileSystem(endpoint_override=f"127.0.0.1:{s3_server.port}", scheme="http", region="us-east-1")
    selector = pyarrow.fs.FileSelector(f"eeg-bucket/{prefix}", recursive=True, allow_not_found=True)
    return [info.path for info in fs.get_file_info(selector) if info.type == pyarrow.fs.FileType.File]


def test_a_killed_s3_run_resumes_from_the_bucket_on_a_clean_output_dir_and_make_results_fetches_it(
        s3_server, tmp_path, capsys):
    storage = s3_server.uri("eeg-bucket", "eeg-tuning")
    first_head = tmp_path / "head-1"
    process = subprocess.Popen(_tune(storage, first_head), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 150
    try:
        # Kill the driver once the first trial has a checkpoint in the bucket (its first epoch of two).
        while time.time() < deadline and not any("/checkpoint_" in path for path in _bucket_files(s3_server, "eeg-tuning")):
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.3)
        os.killpg(process.pid, signal.SIGKILL)  # the driver and what it started: a head that vanished
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL, "the run ended before it was killed"
    stored = _bucket_files(s3_server, f"eeg-tuning/{NAME}")
    assert f"eeg-bucket/eeg-tuning/{NAME}/eeg_experiment_config.json" in stored
    assert not (first_head / "best_hyperparameters.json").exists()  # killed before the end

    second_head = tmp_path / "head-2"  # a new machine: nothing local
    for flags, said in ((["--searcher", "hyperopt"], "was run with --searcher 'optuna'"),
                        (["--split", "subject"], "was run with --split 'trial'")):
        assert said in _refused(capsys, _tune(storage, second_head, "--resume", *flags))
        assert not second_head.exists()

    resumed = subprocess.run(_tune(storage, second_head, "--resume"), cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Outputs copied to s3://eeg-bucket/eeg-tuning/s3-run/eeg_outputs" in resumed.stdout
    summary = json.loads((second_head / "tuning" / NAME / "summary.json").read_text())
    assert summary["finished"] is True and summary["trials"] == TRIALS

    results = tmp_path / "fetched"
    fetched = subprocess.run(["make", "-s", "results", f"STORAGE={storage}", f"NAME={NAME}",
                              f"RESULTS_DIR={results}", f"PYTHON={sys.executable}"],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    best = json.loads((results / "best_hyperparameters.json").read_text())
    assert best == json.loads((second_head / "best_hyperparameters.json").read_text())
    assert (results / "tuning" / NAME / "trials.parquet").is_file()
    assert list((results / "tuning" / NAME / "ray_results").glob("experiment_state-*.json"))



def test_a_storage_that_stops_answering_by_the_end_is_one_closing_line_and_exit_1_not_a_crash(s3_server, tmp_path):
    storage, output = s3_server.uri("eeg-bucket", "stops"), tmp_path / "out"
    process = subprocess.Popen(_tune(storage, output, trials=1), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 150
    try:
        # Stop the server once the only trial's last checkpoint (epoch 2 of 2) is in the bucket.
        while time.time() < deadline and not any("/checkpoint_000001/" in path
                                                 for path in _bucket_files(s3_server, "stops")):
            assert process.poll() is None, process.communicate()
            time.sleep(0.3)
        s3_server.stop()
        out, err = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 1, out + err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: --storage:") and f"make results NAME={NAME}" in last, err
    # Ray logs its failed syncs with their tracebacks; the driver itself must not end in one.
    assert f'File "{ROOT / "tune_cluster.py"}"' not in err, err
    assert (output / "tuning" / NAME / "config.json").is_file()  # what was written here stays
