"""The submit helper (cluster/submit.py): the job it sends and the token it sends it with, without a cluster."""

from __future__ import annotations

import json

from cluster import submit
from cluster.local_cluster import REPO


def test_the_submitted_job_runs_the_projects_python_and_leaves_the_venv_and_token_behind():
    cfg = {"ray": "ray", "address": "http://127.0.0.1:8265", "entry": "tune_cluster.py", "storage": "/nfs/r",
           "name": "n", "output_dir": "/nfs/m", "node_python": "", "wait": "0"}
    command = submit.build_command(cfg, ["--max-trials", "200"], "n-1")
    entry = command[command.index("--") + 1:]
    assert entry[:4] == ["bash", "cluster/project_python.sh", "tune_cluster.py", "tune"]
    assert entry[4:] == ["--address", "auto", "--storage", "/nfs/r", "--name", "n", "--output-dir", "/nfs/m",
                         "--max-trials", "200"]
    assert "--no-wait" in command and command[command.index("--working-dir") + 1] == str(REPO)
    runtime_env = json.loads(command[command.index("--runtime-env-json") + 1])
    for kept_out in ("/.venv/", "/models/", "/cluster/.secrets/", "__pycache__/"):
        assert kept_out in runtime_env["excludes"]
    assert "env_vars" not in runtime_env
    cfg["node_python"] = "/opt/eeg/bin/python"
    runtime_env = json.loads(submit.build_command(cfg, [], "n-2")[command.index("--runtime-env-json") + 1])
    assert runtime_env["env_vars"] == {"EEG_PYTHON": "/opt/eeg/bin/python"}


def test_submit_sends_the_token_from_the_file_not_a_stray_environment_variable():
    env = submit._auth_env({"RAY_AUTH_TOKEN": "stale", "PATH": "/bin"}, "/x/auth_token")
    assert env == {"PATH": "/bin", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": "/x/auth_token"}
