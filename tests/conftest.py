"""Shared fixtures: a local Ray for the tests that need one, bound to loopback, token auth as Ray sets it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Under `make test`, make exports its recursion state; a `make` the tests run would then print
# "make[1]: ..." lines and differ from what a user sees. Tests run the targets as a user would.
for _name in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"):
    os.environ.pop(_name, None)

# The guide's section 7, Step 1 example, byte for byte: users feed exactly this to `train --hparams`.
GUIDE_EXAMPLE_HPARAMS = """{
  "hyperparameters": {
    "learning_rate": 0.0005,
    "cnn_filters_0": 96,
    "cnn_filters_1": 192,
    "cnn_filters_2": 256,
    "lstm_units": 160,
    "dense_units_0": 320,
    "batch_size": 64,
    "optimizer": "adamw"
  },
  "metadata": {
    "best_score": 0.8743,
    "timestamp": "2025-10-28T10:30:00"
  }
}
"""


@pytest.fixture(scope="session")
def local_ray():
    """One embedded Ray for every test that runs trials in-process (starting Ray costs seconds)."""
    import ray

    from engines.backends.ray_tune_run import private_auth_token

    if not ray.is_initialized():
        with private_auth_token():  # the token Ray makes stays private, as the CLI keeps it
            ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def guide_hparams_file(tmp_path: Path) -> Path:
    path = tmp_path / "best_hyperparameters.json"
    path.write_text(GUIDE_EXAMPLE_HPARAMS)
    return path


class S3Server:
    """moto's S3-compatible server on 127.0.0.1 (fake credentials in the environment)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def uri(self, bucket: str, prefix: str = "") -> str:
        """``s3://bucket/prefix?endpoint_override=...``: the form --storage takes for an S3-compatible server."""
        return f"s3://{bucket}/{prefix}?endpoint_override=127.0.0.1:{self.port}&scheme=http&region=us-east-1"

    def make_bucket(self, bucket: str) -> None:
        import pyarrow.fs

        pyarrow.fs.S3FileSystem(endpoint_override=f"127.0.0.1:{self.port}", scheme="http", region="us-east-1",
                                allow_bucket_creation=True).create_dir(bucket)

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture
def s3_server(monkeypatch):
    """An S3 server with one bucket, ``eeg-bucket``, for this test; stopped at its end."""
    import logging

    pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    server = S3Server()
    server.make_bucket("eeg-bucket")
    yield server
    server.stop()
