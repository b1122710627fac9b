"""A resume on a new machine (a clean --output-dir) checks its flags against the settings kept in --storage DIR."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tune_cluster

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
NAME = "kept"


def _tune(storage: str, output_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, str(ROOT / "tune_cluster.py"), "--use-dummy-data", "--smoke-test", "--max-trials", "1",
        "--scheduler", "fifo", "--name", NAME, "--storage", storage, "--output-dir", str(output_dir), "--verbose", "0",
        *extra,
    ]


def test_a_resume_on_a_new_machine_checks_the_settings_kept_in_a_storage_folder(tmp_path, capsys):
    storage, output = str(tmp_path / "nfs" / "ray_results"), tmp_path / "out"
    first = subprocess.run(_tune(storage, output), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "nfs" / "ray_results" / NAME / "eeg_experiment_config.json").is_file()
    shutil.rmtree(output)  # the head that ran it is gone; the storage folder stays
    for flags, said in ((["--searcher", "hyperopt"], "was run with --searcher 'optuna'"),
                        (["--split", "subject"], "was run with --split 'trial'")):
        assert tune_cluster.main(_tune(storage, output, "--resume", *flags)[2:]) == 2  # refusals start nothing
        err = capsys.readouterr().err.strip()
        assert said in err and len(err.splitlines()) == 1
        assert not output.exists()
    same = subprocess.run(_tune(storage, output, "--resume"), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert same.returncode == 0, same.stdout + same.stderr
    assert json.loads((output / "tuning" / NAME / "summary.json").read_text())["trials"] == 1
