"""`ray up cluster/lab.yaml` over real SSH to this machine, then the user's whole day.

The lab YAML is filled in with head_ip 127.0.0.1 (head only), a throwaway user and key
from ``.ci/cluster-setup.sh`` (sshd on 127.0.0.1:22 only), and driven through the real
``cluster/cluster.mk`` targets: cluster-up, dashboard (the SSH tunnel), submit, status,
logs, results, cluster-down. Deviations from the YAML as shipped, and why:

- setup_commands: the venv command and the PATH command run as written; the ``pip
  install`` one is replaced by pointing the node's venv at this checkout's installed
  packages (installing TensorFlow from the network takes minutes).
- ~/.eeg-ray-node.env on the "head" moves Ray's ports and temp dir off the defaults, which
  another Ray on this machine may hold (the YAML's documented per-host override).
Skips only when sshd/rsync cannot be installed or started (no root, apt unreachable).
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import yaml

from cluster.local_cluster import (
    REPO,
    RAY_CLI,
    free_ports,
    http_status,
    kill_processes,
    pids_matching,
    pids_of_user,
    wait_for,
    write_token,
)

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.timeout(600)]

SETUP = REPO / ".ci" / "cluster-setup.sh"


def _run(cmd: list[str], env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def _as_user(uid: int, gid: int, path: Path, text: str | None = None, mode: int = 0o644) -> None:
    if text is None:
        path.mkdir(parents=True, exist_ok=True)
    else:
        path.write_text(text)
    os.chown(path, uid, gid)
    os.chmod(path, mode if text is not None else 0o755)


def _link_driver_packages_command(site_packages: str) -> str:
    """Stands in for `pip install -e`: the node venv sees this checkout's packages, plus a `ray`.

    The venv itself comes from the YAML's own first setup command (the node's pythonX.Y of
    the driver's version, e.g. Debian's /usr/bin/python3.11), so it is usable by the test
    user even when this checkout's interpreter lives in a private home (pyenv under /root).
    """
    pth = f"import site; site.addsitedir({site_packages!r})"
    launcher = (
        "#!/bin/sh\n"
        'exec "$(dirname "$0")/python" -c "import sys; from ray.scripts.scripts import main; '
        "sys.argv[0] = 'ray'; sys.exit(main())\" \"$@\"\n"
    )
    return (
        f"printf '%s\\n' {shlex.quote(pth)} > ~/eeg-tuning/.venv/lib/python{sys.version_info[0]}.{sys.version_info[1]}"
        "/site-packages/eeg_driver_packages.pth"
        f" && printf %s {shlex.quote(launcher)} > ~/eeg-tuning/.venv/bin/ray && chmod 755 ~/eeg-tuning/.venv/bin/ray"
    )


def _share_with_user(site_packages: str) -> tuple[str, Path | None]:
    """A path to the driver's packages that the test user can read, and the bind mount to undo.

    This checkout may sit under a folder only root may enter (a CI clone in a 0700 /tmp), so
    the packages are bind-mounted read-only at a fresh mount point under /run, which anyone may
    traverse. The mount point is only ever unmounted and rmdir'ed, never deleted recursively
    (that would reach through the mount into the real packages).
    """
    point = Path(tempfile.mkdtemp(prefix="eeg-ci-site-", dir="/run" if os.path.isdir("/run") else None))
    point.chmod(0o755)
    bound = subprocess.run(["mount", "--bind", site_packages, str(point)], capture_output=True, text=True)
    if bound.returncode != 0:
        point.rmdir()
        return site_packages, None  # not allowed to mount: the packages must already be readable
    subprocess.run(["mount", "-o", "remount,bind,ro", str(point)], capture_output=True)
    return str(point), point


def _unshare(point: Path | None) -> None:
    if point is None:
        return
    if subprocess.run(["umount", str(point)], capture_output=True).returncode == 0:
        point.rmdir()


@pytest.fixture(scope="module")
def lab_over_ssh():
    """A filled-in lab.yaml whose head is this machine over SSH; tears everything down."""
    installed = _run(["bash", str(SETUP), "install"], timeout=600)
    if installed.returncode == 3:
        pytest.skip(f"cannot install sshd/rsync for the ray-up test: {installed.stderr.strip()}")
    assert installed.returncode == 0, installed.stderr

    root = Path(tempfile.mkdtemp(prefix="rcs-"))
    started = _run(["bash", str(SETUP), "start", str(root)])
    if started.returncode == 3:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"cannot start sshd on 127.0.0.1:22 for the ray-up test: {started.stderr.strip()}")
    assert started.returncode == 0, started.stderr
    ssh = dict(line.split("=", 1) for line in started.stdout.split())
    uid = int(ssh["SSH_UID"])
    assert uid not in (0, os.getuid()), "the ray-up test needs its own unprivileged user (see .ci/cluster-setup.sh)"
    gid = int(subprocess.check_output(["id", "-g", ssh["SSH_USER"]], text=True))
    home = Path(ssh["SSH_HOME"])
    run = home / f"r-{uuid.uuid4().hex[:8]}"  # short: Ray's socket paths live under it
    tunnel: list[subprocess.Popen] = []
    state = {"run": run, "home": home, "uid": uid, "root": root, "tunnel": tunnel}
    driver_packages, mount_point = _share_with_user(sysconfig.get_paths()["purelib"])
    try:
        for sub in ("", "tmp", "storage", "out"):
            _as_user(uid, gid, run / sub if sub else run)
        gcs, dash, client, agent, agent_grpc, metrics, runtime_env, local_dash = free_ports(8)
        _as_user(uid, gid, home / ".eeg-ray-node.env", (
            f"export TMPDIR={run}/tmp RAY_TMPDIR={run}\n"
            f'EEG_RAY_START_ARGS="--port={gcs} --dashboard-port={dash} --ray-client-server-port={client}'
            f" --dashboard-agent-listen-port={agent} --dashboard-agent-grpc-port={agent_grpc}"
            f" --metrics-export-port={metrics} --runtime-env-agent-port={runtime_env}"
            ' --node-ip-address=127.0.0.1 --num-cpus=2 --object-store-memory=150000000"\n'
        ))

        token = root / "auth_token"
        write_token(token)
        config = yaml.safe_load((REPO / "cluster" / "lab.yaml").read_text())
        config["cluster_name"] = state["cluster_name"] = f"eeg-ci-{uuid.uuid4().hex[:6]}"
        config["provider"]["head_ip"] = "127.0.0.1"
        config["provider"]["worker_ips"] = []
        config["auth"] = {"ssh_user": ssh["SSH_USER"], "ssh_private_key": ssh["SSH_KEY"]}
        mounts = config["file_mounts"]
        assert mounts["~/.ray/auth_token"] == "cluster/.secrets/auth_token"
        mounts["~/.ray/auth_token"] = str(token)
        mounts["~/eeg-tuning/constraints.txt"] = str(root / "constraints.txt")
        commands = config["setup_commands"]
        assert len(commands) == 4 and "pip install" in commands[2], commands
        commands[2] = _link_driver_packages_command(driver_packages)
        cluster_yaml = root / "lab-ci.yaml"
        cluster_yaml.write_text(yaml.safe_dump(config, sort_keys=False))

        env = dict(os.environ)
        for key in ("RAY_AUTH_TOKEN", "RAY_ADDRESS", "RAY_API_SERVER_ADDRESS"):
            env.pop(key, None)
        env.update(TMPDIR=str(root), RAY_TMPDIR=str(root), RAY_USAGE_STATS_ENABLED="0")
        make_vars = [
            f"CLUSTER={cluster_yaml}", f"TOKEN={token}", f"CONSTRAINTS={root / 'constraints.txt'}",
            f"PYTHON={sys.executable}", f"RAY={RAY_CLI}",
            f"DASHBOARD_PORT={local_dash}", f"REMOTE_DASHBOARD_PORT={dash}",
            f"STORAGE={run}/storage", f"OUTPUT_DIR={run}/out", "NAME=ci-lab",
            f"LAST_JOB={root / 'last-job'}", f"RESULTS_DIR={root / 'results'}",
            "NODE_RAY=~/eeg-tuning/.venv/bin/ray",
        ]
        state.update(env=env, make_vars=make_vars, token=token, dash=dash, local_dash=local_dash,
                     yaml=cluster_yaml, user=ssh["SSH_USER"])
        yield state
    finally:
        for proc in tunnel:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
        if "make_vars" in state:
            _run(["make", "-f", "cluster/cluster.mk", "cluster-down", *state["make_vars"]], env=state["env"], timeout=120)
        _run(["bash", str(SETUP), "stop", str(root)])
        kill_processes(pids_matching(str(root)))  # ssh control masters hold root's key path
        kill_processes(pids_of_user(uid))
        _unshare(mount_point)
        (home / ".eeg-ray-node.env").unlink(missing_ok=True)
        for leftover in ("eeg-tuning", ".ray", "ray_bootstrap_config.yaml", "ray_bootstrap_key.pem"):
            path = home / leftover
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        shutil.rmtree(run, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        if "cluster_name" in state:  # `ray up`'s SSH control folder for this cluster
            digest = lambda text: hashlib.sha256(text.encode()).hexdigest()[:10]  # noqa: E731
            control = f"/tmp/ray_ssh_{digest(getpass.getuser())}/{digest(state['cluster_name'])}"
            shutil.rmtree(control, ignore_errors=True)
            try:
                os.rmdir(os.path.dirname(control))  # only if no other cluster uses it
            except OSError:
                pass


def _make(lab: dict, target: str, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return _run(["make", "-f", "cluster/cluster.mk", target, *lab["make_vars"], *extra], env=lab["env"], timeout=timeout)


def _ray_processes_of(uid: int) -> list[int]:
    names = ("gcs_server", "raylet", "dashboard.py", "default_worker.py")
    return [pid for pid in pids_of_user(uid)
            if any(n in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") for n in names)]


def test_ray_up_the_lab_yaml_over_ssh_then_submit_watch_fetch_and_tear_down(lab_over_ssh):
    lab = lab_over_ssh
    timings = {}
    t0 = time.monotonic()

    up = _make(lab, "cluster-up", timeout=600)
    assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-4000:]
    timings["cluster-up"] = time.monotonic() - t0
    head_token = lab["home"] / ".ray" / "auth_token"
    assert head_token.read_text() == lab["token"].read_text(), "file_mounts did not ship the token"
    assert oct(head_token.stat().st_mode & 0o777) == "0o600"
    assert oct(head_token.parent.stat().st_mode & 0o777) == "0o700", "the token's folder must be private"
    assert (lab["home"] / "eeg-tuning" / "constraints.txt").read_text().startswith("# python %d.%d" % sys.version_info[:2])
    assert not (lab["home"] / "eeg-tuning" / "cluster").exists()

    # The dashboard listens on the head's 127.0.0.1 only; `make ray-dashboard` tunnels it here.
    tunnel = subprocess.Popen(
        ["make", "-f", "cluster/cluster.mk", "ray-dashboard", *lab["make_vars"]], cwd=REPO, env=lab["env"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    lab["tunnel"].append(tunnel)
    api = f"http://127.0.0.1:{lab['local_dash']}"
    token = lab["token"].read_text()
    wait_for(lambda: http_status(api + "/api/version", token) == 200, 60, "the job API through `make ray-dashboard`")
    assert http_status(api + "/api/jobs/") == 401
    assert http_status(api + "/api/jobs/", "0" * 64) == 403
    assert http_status(api + "/api/jobs/", token) == 200
    timings["tunnel"] = time.monotonic() - t0

    submitted = _make(lab, "submit", "ENTRY=tests/cluster/stand_in_tune.py", "WAIT=1",
                      "ARGS=--use-dummy-data --smoke-test --max-trials 2 --cpus-per-trial 1")
    assert submitted.returncode == 0, submitted.stdout[-4000:] + submitted.stderr[-4000:]
    timings["submit"] = time.monotonic() - t0
    seen = __import__("json").loads((lab["run"] / "out" / "job_environment.json").read_text())
    assert seen["python"] == str(lab["home"] / "eeg-tuning" / ".venv" / "bin" / "python"), seen
    assert seen["auth_mode"] == "token" and not seen["venv_uploaded"] and not seen["token_uploaded"]

    status = _make(lab, "status")
    assert status.returncode == 0, status.stdout[-3000:] + status.stderr[-3000:]
    assert "succeeded" in (status.stdout + status.stderr).lower()
    assert "Active:" in status.stdout, status.stdout[-3000:]
    logs = _make(lab, "logs")
    assert logs.returncode == 0 and "stand-in tune: 2 trials" in logs.stdout, logs.stdout[-3000:] + logs.stderr

    results = _make(lab, "results")
    assert results.returncode == 0, results.stdout[-3000:] + results.stderr[-3000:]
    fetched = lab["root"] / "results"
    assert (fetched / "best_hyperparameters.json").is_file()
    assert (fetched / "tuning" / "ci-lab" / "trials.csv").is_file()
    assert any((fetched / "tuning" / "ci-lab" / "ray_results").iterdir()), "Ray's experiment was not fetched"
    timings["status/logs/results"] = time.monotonic() - t0

    down = _make(lab, "cluster-down")
    assert down.returncode == 0, down.stdout[-3000:] + down.stderr[-3000:]
    wait_for(lambda: not _ray_processes_of(lab["uid"]), 30, "`make cluster-down` to stop Ray on the head")
    timings["cluster-down"] = time.monotonic() - t0
    print("timings (s, cumulative):", {k: round(v, 1) for k, v in timings.items()})
