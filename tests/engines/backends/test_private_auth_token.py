"""The token an embedded Ray makes stays private: ``~/.ray/auth_token`` mode 600 in a 700 folder (issue 19, item 2)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from engines.backends.ray_tune_run import private_auth_token

REPO = Path(__file__).resolve().parents[3]
from cluster.local_cluster import kill_processes, pids_matching  # noqa: E402


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    old = os.umask(0o022)  # a usual login umask: files 644, folders 755
    yield tmp_path
    os.umask(old)


def test_the_token_ray_generates_inside_is_600_in_a_700_folder(home):
    from ray._private.authentication.authentication_token_setup import generate_and_save_token

    with private_auth_token() as token:
        assert _mode(home / ".ray") == 0o700  # private before Ray writes anything into it
        generate_and_save_token()  # what ray.init() runs for a new local cluster without a token
    assert token == home / ".ray" / "auth_token" and len(token.read_text()) >= 32
    assert _mode(token) == 0o600 and _mode(token.parent) == 0o700


def test_a_token_made_earlier_with_open_modes_is_secured(home):
    (home / ".ray").mkdir(mode=0o755)
    token = home / ".ray" / "auth_token"
    token.write_text("0" * 32)
    token.chmod(0o644)
    with private_auth_token():
        pass
    assert _mode(token) == 0o600 and _mode(token.parent) == 0o700 and token.read_text() == "0" * 32


@pytest.mark.slow
def test_the_embedded_ray_started_as_the_cli_starts_it_leaves_its_token_private(tmp_path):
    script = textwrap.dedent("""
        import os
        os.umask(0o022)
        from engines.backends.ray_tune_run import RayTuneBackend
        from engines.experiment.settings import load_settings
        with RayTuneBackend().session(load_settings({"use_dummy_data": True})):
            pass
    """)
    ray_tmp = Path(tempfile.mkdtemp(prefix="rt-"))  # short: Ray's socket paths live under it
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}  # RAY_AUTH_MODE unset, as a user has it
    env.update(HOME=str(tmp_path), RAY_TMPDIR=str(ray_tmp), RAY_USAGE_STATS_ENABLED="0")
    try:
        run = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=300)
    finally:
        kill_processes(pids_matching(str(ray_tmp)))  # only what this embedded Ray left, if anything
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert run.returncode == 0, run.stderr[-3000:]
    token = tmp_path / ".ray" / "auth_token"
    assert token.is_file(), "the embedded Ray made no token: token authentication must stay on"
    assert _mode(token) == 0o600 and _mode(token.parent) == 0o700
