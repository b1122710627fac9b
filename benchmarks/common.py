"""What every benchmark script shares: the results file, the machine's description, spread over seeds, the data.

Each script measures one thing and merges its figures into one key of ``results.json``
(``benchmarks/results.json`` for ``make bench``; ``--out`` elsewhere, as ``make bench-quick``
does), so the scripts can run alone or through :mod:`benchmarks.run_all` in any order.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

__all__ = [
    "HERE",
    "REPO",
    "machine",
    "merge_result",
    "read_jsonl_rows",
    "spread",
    "dataset_npz",
    "run_cli",
    "local_ray",
    "peak_rss_mb",
    "rss_mb",
    "add_common_args",
]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # the scripts run as `python benchmarks/x.py` from the repository root
    sys.path.insert(0, str(REPO))


def add_common_args(parser: Any) -> None:
    """``--quick`` (the CI sizes) and ``--out`` (the folder for results.json and the PNGs)."""
    parser.add_argument("--quick", action="store_true", help="small numbers: checks the script end to end in minutes")
    parser.add_argument("--out", default=str(HERE), help="folder for results.json and plots/ (default: benchmarks/)")


def machine() -> dict[str, Any]:
    """CPU count, memory, OS and the versions that shape the figures."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("ray", "tensorflow-cpu", "tensorflow", "keras", "optuna", "keras-tuner", "hyperopt", "numpy"):
        with contextlib.suppress(PackageNotFoundError):
            versions[package] = version(package)
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpus": os.cpu_count(), "memory_gib": round(memory_gib, 1), "platform": platform.platform(),
            "python": platform.python_version(), "versions": versions,
            "load_average_when_written": [round(v, 2) for v in os.getloadavg()]}


def merge_result(out_dir: str | Path, key: str, figures: Any, command: Sequence[str] | None = None) -> Path:
    """Write ``figures`` under ``key`` of ``<out_dir>/results.json``, keeping the other keys (atomic replace)."""
    path = Path(out_dir) / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = json.loads(path.read_text()) if path.is_file() else {}
    document[key] = figures
    runs = document.setdefault("_runs", {})
    runs[key] = {"date": _dt.datetime.now().isoformat(timespec="seconds"),
                 "command": " ".join(command or [Path(sys.argv[0]).name, *sys.argv[1:]]), "machine": machine()}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True, default=_json_default) + "\n")
    tmp.replace(path)
    return path


def append_jsonl_row(path: Path, row: dict) -> None:
    """Keep one finished run of a resumable benchmark (a line of JSON), so a rerun after a kill skips it."""
    with open(path, "a") as handle:
        handle.write(json.dumps(row) + "\n")


def read_jsonl_rows(path: Path) -> list[dict]:
    """The rows a resumable benchmark's earlier call finished, one JSON object a line (a line cut off by a kill is dropped)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def _json_default(value: Any) -> Any:
    """NumPy scalars as numbers; anything else as its text."""
    return value.item() if hasattr(value, "item") else str(value)


def spread(values: Sequence[float | None]) -> dict[str, Any]:
    """Median, min, max and n of the values that are not None (the seeds that produced one)."""
    kept = [float(v) for v in values if v is not None]
    if not kept:
        return {"median": None, "min": None, "max": None, "n": 0, "values": list(values)}
    return {"median": round(statistics.median(kept), 4), "min": round(min(kept), 4), "max": round(max(kept), 4),
            "n": len(kept), "values": [None if v is None else round(float(v), 4) for v in values]}


def dataset_npz(work: Path, *, smoke: bool, subjects: int | None = None, seconds: float | None = None) -> Path:
    """The synthetic EEG task as a feature table (``--data X.npz``): generated once, not once per run.

    ``--use-dummy-data`` builds the same features in every command (16 s on this machine);
    a saved table gives every tuning run, ``verify`` and the test-accuracy check the same
    arrays and the same test split for the price of one build.
    """
    import numpy as np

    from eeg.synthetic import SyntheticConfig, make_dummy_dataset

    tag = f"{'smoke' if smoke else 'full'}-{subjects or 'd'}-{seconds or 'd'}"
    path = work / f"synthetic-{tag}.npz"
    if not path.is_file():
        config = SyntheticConfig()
        changes = {k: v for k, v in (("n_subjects", subjects), ("trial_seconds", seconds)) if v is not None}
        if changes:
            import dataclasses

            config = dataclasses.replace(config, **changes)
        ds = make_dummy_dataset(config, smoke_test=smoke)
        work.mkdir(parents=True, exist_ok=True)
        np.savez(path, X=ds.X, y=ds.y, subject=ds.subject, trial=ds.trial)
    return path


def run_cli(args: Sequence[str], log: Path, *, env: dict[str, str] | None = None, timeout: float = 3600) -> float:
    """Run ``tune_cluster.py ARGS`` (the user's entry point) with its output in ``log``; returns wall seconds."""
    command = [sys.executable, str(REPO / "tune_cluster.py"), *args]
    started = time.perf_counter()
    with open(log, "w") as handle:
        code = subprocess.call(command, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT, timeout=timeout,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} exited {code}; see {log}")
    return time.perf_counter() - started


@contextlib.contextmanager
def local_ray(num_cpus: int, **kwargs: Any) -> Iterator[None]:
    """An embedded Ray on loopback with ``num_cpus`` slots, shut down afterwards."""
    import ray

    from engines.backends.ray_tune_run import private_auth_token

    with private_auth_token():  # the token Ray makes: mode 600 in a 700 folder, as the CLI keeps it
        ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
                 configure_logging=True, logging_level="ERROR", **kwargs)
    try:
        yield
    finally:
        ray.shutdown()


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` now (MiB), from /proc."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
