"""A resume on a new machine (a clean --output-dir) checks its flags against the settings kept in --storage DIR.

In this process, on the session's embedded Ray: the head's outputs are removed between the runs, and the resume
finds the experiment from the storage folder alone (a killed head's resume from a bucket, in its own processes, is
test_s3_storage.py's).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import tune_cluster

pytestmark = pytest.mark.slow
NAME = "kept"


def _tune(storage: str, output_dir: Path, *extra: str) -> list[str]:
    return [
        "--use-dummy-data", "--smoke-test", "--max-trials", "1",
        "--scheduler", "fifo", "--name", NAME, "--storage", storage, "--output-dir", str(output_dir), "--verbose", "0",
        *extra,
    ]


def test_a_resume_on_a_new_machine_checks_the_settings_kept_in_a_storage_folder(local_ray, tmp_path, capsys):
    storage, output = str(tmp_path / "nfs" / "ray_results"), tmp_path / "out"
    assert tune_cluster.main(_tune(storage, output)) == 0, capsys.readouterr()
    capsys.readouterr()
    assert (tmp_path / "nfs" / "ray_results" / NAME / "eeg_experiment_config.json").is_file()
    shutil.rmtree(output)  # the head that ran it is gone; the storage folder stays
    for flags, said in ((["--searcher", "hyperopt"], "was run with --searcher 'optuna'"),
                        (["--split", "subject"], "was run with --split 'trial'")):
        assert tune_cluster.main(_tune(storage, output, "--resume", *flags)) == 2  # refusals start nothing
        err = capsys.readouterr().err.strip()
        assert said in err and len(err.splitlines()) == 1
        assert not output.exists()
    assert tune_cluster.main(_tune(storage, output, "--resume")) == 0, capsys.readouterr()
    assert json.loads((output / "tuning" / NAME / "summary.json").read_text())["trials"] == 1
