"""Two Ray nodes on one machine started as a user starts them: they share Ray's default temp folder.

``ray start --head`` then ``ray start --address ...`` with no ``--temp-dir``: both nodes use
the same session folder, so their runtime-env agents share one copy of a job's working
directory, and the worker's agent deletes it once the trials on its node are done, while the
driver still runs (issue 19, item 1). The driver must finish anyway: its paths resolved at
start and its own folder to run from. ``RAY_TMPDIR`` moves the default folder under this test's
private root, so nothing here touches the machine's /tmp/ray. test_cluster_local.py keeps the
per-node ``--temp-dir`` cluster.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster.local_cluster import LocalRayCluster, http_status, pids_matching, write_token  # noqa: E402
from test_cluster_local import _submit, _trial_nodes  # noqa: E402

from engines.experiment.settings import SMOKE_MAX_TRIALS  # noqa: E402

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def shared_temp_nodes():
    root = Path(tempfile.mkdtemp(prefix="rs-"))  # short: Ray's socket paths live under it
    token = root / "auth_token"
    write_token(token)
    cluster = LocalRayCluster(root, token, shared_temp_dir=True)
    try:
        cluster.start_head(num_cpus=0)
        cluster.add_worker(num_cpus=2)
        nodes = cluster.wait_for_nodes(2)
        cluster.worker_ids = {n["node_id"] for n in nodes if not n.get("is_head_node")}
        yield cluster
    finally:
        cluster.stop()
        leftovers = pids_matching(str(root))
        shutil.rmtree(root, ignore_errors=True)
        assert not leftovers, f"Ray processes outlived the cluster: {leftovers}"


def test_both_nodes_share_one_session_folder_under_rays_default_temp_folder_with_token_auth_on(shared_temp_nodes):
    jobs = shared_temp_nodes.dashboard_url + "/api/jobs/"
    assert http_status(jobs) == 401 and http_status(jobs, token=shared_temp_nodes.token) == 200
    sessions = [p for p in (shared_temp_nodes.root / "ray").glob("session_2*") if p.is_dir()]
    assert len(sessions) == 1, sessions
    assert not any((shared_temp_nodes.root / name / "session_latest").exists() for name in ("head", "worker1"))


def test_a_submitted_smoke_tune_finishes_and_writes_its_outputs_when_the_nodes_share_the_temp_folder(
        shared_temp_nodes):
    result, out = _submit(shared_temp_nodes, "shared", "tune_cluster.py",
                          "--use-dummy-data --smoke-test --max-trials 4 --cpus-per-trial 1 --memory-per-trial 1G")
    log = result.stdout[-6000:] + result.stderr[-4000:]
    assert result.returncode == 0, log
    assert "stopped answering" not in log, log
    nodes = _trial_nodes(out / "tuning" / "shared" / "trials.csv")
    assert set(nodes) == shared_temp_nodes.worker_ids
    best = json.loads((out / "best_hyperparameters.json").read_text())
    assert len(nodes) == best["metadata"]["trials"] == min(4, SMOKE_MAX_TRIALS)  # --smoke-test caps the 4
    assert (shared_temp_nodes.root / "storage" / "shared").is_dir(), "Ray's experiment is not in --storage"
    # What made this cluster fail before: a runtime-env agent removed the job's working directory
    # (the driver's starting folder) and unpacked it again while the driver ran.
    # (Ray logs it in the runtime_env_setup-<job>.log of the node that set the trials' env up.)
    setup_logs = "".join(log.read_text(errors="replace")
                         for log in (shared_temp_nodes.root / "ray").glob("session_2*/logs/runtime_env*.log"))
    assert re.search(r"Removing \S*/working_dir_files/_ray_pkg_", setup_logs), setup_logs[-3000:]
