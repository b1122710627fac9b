"""The overnight run in miniature: many short trials submitted to a 3-node cluster while a worker dies and returns.

A head (0 CPUs) and two one-CPU workers start with ``ray start`` on this machine (token auth
on, each node its own temp dir). ``make submit`` sends ``tune_cluster.py`` with ``TRIALS``
FIFO trials; once a quarter of them have reported, the worker running a trial between its
first and last epoch (checkpointed at the first) loses its raylet and all its processes to
SIGKILL (as when a lab machine reboots), and a fresh worker joins a little later. The driver's resident memory is sampled throughout. Used by
``tests/integration/test_overnight_cluster.py`` (40 trials) and ``benchmarks/bench_overnight.py``
(200+ trials, ``make bench-overnight``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cluster.local_cluster import REPO, RAY_CLI, LocalRayCluster, pids_matching, wait_for, write_token

__all__ = ["OvernightResult", "figures", "run_overnight", "trial_reports"]


@dataclass
class OvernightResult:
    """What the scenario saw: the job's exit, its outputs, and the driver's memory over time."""

    returncode: int
    output: str
    out_dir: Path
    experiment: Path
    wall_s: float
    killed_node: str | None
    killed_trial: str | None  # the trial between its first and last epoch that the node was lost under
    rss_mb: list[tuple[int, float]] = field(default_factory=list)  # (trials reported so far, driver RSS MiB)


def _reported_trials(experiment: Path) -> int:
    return sum(1 for file in experiment.glob("trial_*/result.json") if file.stat().st_size > 0)


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _driver_pid(name: str) -> int | None:
    """The job's driver: of the processes whose command line names this experiment's output folder (the
    job's shell, ``timeout`` and the Python driver), the Python one: ``argv[0]`` is the interpreter."""
    for pid in pids_matching("tune_cluster.py"):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(name in arg for arg in argv) and "python" in Path(argv[0]).name and \
                any(arg.endswith("tune_cluster.py") for arg in argv[1:3]):
            return pid
    return None


def trial_reports(trial_dir: Path) -> list[dict]:
    """The results a trial reported, read from its ``result.json`` (a line still being written is skipped)."""
    rows = []
    for line in (trial_dir / "result.json").read_text().splitlines() if (trial_dir / "result.json").is_file() else []:
        try:
            rows.append(json.loads(line))
        except ValueError:
            pass  # the line being written
    return rows


def _mid_trial_node(experiment: Path, driver_results: Path, workers: dict[str, str],
                    epochs: int) -> tuple[str, str] | None:
    """(worker, trial folder) of a trial whose first epoch's report has reached the storage and whose last has not come.

    Two copies of each trial's ``result.json`` are read. The driver's own on the head node, appended as each
    report arrives, says whether the trial still runs. The storage's, synced with Ray's experiment
    checkpoint, must already hold a report: when a failed trial restarts, Ray's logger copies that file
    back over the driver's, so a report not yet synced would vanish from the trial's history.
    """
    live = {f.parent.name: len(trial_reports(f.parent)) for f in
            driver_results.glob("session_*/artifacts/*/overnight/driver_artifacts/trial_*/result.json")}
    for trial_dir in experiment.glob("trial_*"):
        rows = trial_reports(trial_dir)
        # Three epochs still to go where it has them: a node killed as the last report lands loses nothing.
        if 1 <= len(rows) < epochs and epochs - live.get(trial_dir.name, epochs) >= min(3, epochs - 1) \
                and rows[-1].get("node_id") in workers:
            return workers[rows[-1]["node_id"]], trial_dir.name
    return None


def run_overnight(work: Path, trials: int, *, epochs: int = 2, time_budget: str = "20m",
                  rejoin_after_s: float = 15.0, timeout_s: float = 1500) -> OvernightResult:
    """Run the scenario on a cluster it starts and stops; every process it started is ended, also on failure.

    The job's outputs and Ray's storage go under ``work``; the nodes' temp dirs under a short
    private folder that is removed at the end.
    """
    root = Path(tempfile.mkdtemp(prefix="on-"))  # short: Ray's socket paths live under it
    token = root / "auth_token"
    write_token(token)
    cluster = LocalRayCluster(root, token)
    # Ray's driver syncs trial results to the storage with its experiment checkpoint, every max(10 s, 19 x the
    # checkpoint's own time): on a loaded 2-core machine a 3-epoch trial could start and end between two syncs,
    # and no node was killed (CI, twice). Every 2 s here; the job's driver inherits it from the head node.
    cluster.env["TUNE_GLOBAL_CHECKPOINT_S"] = "2"
    name, out, storage = "overnight", work / "out", work / "storage"
    experiment = storage / name
    samples: list[tuple[int, float]] = []
    done = threading.Event()

    def sample_driver_memory() -> None:
        while not done.wait(1.0):
            pid = _driver_pid(str(out))
            rss = _rss_mb(pid) if pid else None
            if rss is not None:
                samples.append((_reported_trials(experiment), rss))

    try:
        cluster.start_head(num_cpus=0)
        cluster.add_worker(num_cpus=1, resources={"overnight_worker1": 1})
        cluster.add_worker(num_cpus=1, resources={"overnight_worker2": 1})
        workers = {node["node_id"]: name.removeprefix("overnight_") for node in cluster.wait_for_nodes(3)
                   for name in node.get("resources_total", {}) if name.startswith("overnight_")}
        assert len(workers) == 2, workers
        env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH",
                                                                   "RAY_AUTH_MODE", "RAY_ADDRESS")}
        # FIFO: every trial runs all its epochs, so the node dies under a trial between its checkpoints.
        args = (f"--use-dummy-data --max-trials {trials} --max-epochs {epochs} --scheduler fifo "
                f"--cpus-per-trial 1 --time-budget {time_budget} --verbose 0")
        started = time.monotonic()
        job = subprocess.Popen(
            ["make", "-f", "cluster/cluster.mk", "submit", f"PYTHON={sys.executable}", f"RAY={RAY_CLI}",
             f"RAY_API_SERVER_ADDRESS={cluster.dashboard_url}", f"TOKEN={token}", f"STORAGE={storage}",
             f"OUTPUT_DIR={out}", f"NAME={name}", "ENTRY=tune_cluster.py", f"NODE_PYTHON={sys.executable}",
             "WAIT=1", f"LAST_JOB={root / 'last-job'}", f"ARGS={args}"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        sampler = threading.Thread(target=sample_driver_memory, daemon=True)
        sampler.start()
        killed: tuple[str, str] | bool | None = None
        try:
            wait_for(lambda: job.poll() is not None or _reported_trials(experiment) >= max(2, trials // 4),
                     timeout_s / 2, "a quarter of the trials to report", interval=0.5)
            killed = wait_for(lambda: job.poll() is not None or _mid_trial_node(experiment, root / "head", workers,
                                                                                epochs),
                              timeout_s / 4, "a trial between its first and last epoch", interval=0.1)
            if job.poll() is None:
                cluster.power_off(killed[0])  # the node is lost mid-run, its trials with it
                time.sleep(rejoin_after_s)
                cluster.add_worker(num_cpus=1)  # the machine is back: a fresh node joins
            output, _ = job.communicate(timeout=timeout_s)
        finally:
            done.set()
            if job.poll() is None:
                job.kill()
                output = job.communicate()[0]
        return OvernightResult(job.returncode, output, out, out / "tuning" / name, time.monotonic() - started,
                               *(killed if isinstance(killed, tuple) else (None, None)), samples)
    finally:
        cluster.stop()
        leftovers = cluster.leftovers()
        shutil.rmtree(root, ignore_errors=True)
        if leftovers:
            raise RuntimeError(f"Ray processes outlived the cluster: {leftovers}")


def figures(result: OvernightResult) -> dict:
    """Trials, statuses, retries, trials per hour and driver memory, from the job's own outputs."""
    import pandas as pd

    table = pd.read_parquet(result.experiment / "trials.parquet")
    summary = json.loads((result.experiment / "summary.json").read_text())
    early = [rss for n, rss in result.rss_mb if n <= max(1, len(table) // 4)]
    late = [rss for n, rss in result.rss_mb if n >= 3 * len(table) // 4]
    return {
        "trials": int(len(table)),
        "statuses": {k: int(v) for k, v in table["status"].value_counts().items()},
        "retried_trials": int((table["retries"] > 0).sum()),
        "retries": int(table["retries"].sum()),
        "wall_s": round(result.wall_s, 1),
        "trials_per_hour": round(len(table) / result.wall_s * 3600, 1),
        "worker_utilisation": summary.get("worker_utilisation"),
        "driver_rss_mb_first_quarter": round(max(early), 1) if early else None,
        "driver_rss_mb_last_quarter": round(max(late), 1) if late else None,
        "driver_rss_mb_peak": round(max(rss for _, rss in result.rss_mb), 1) if result.rss_mb else None,
    }
