"""Scheduling and scale: how well the driver keeps 2 CPUs busy with many short trials, and 1,000 trials on 4 nodes.

``scheduling``: 100 trials (``--trials``) of the real trainable (tiny models, one or two epochs,
the smoke dataset) on an embedded 2-CPU Ray, configured as :class:`engines.backends.ray_tune_run.RayTuneBackend`
configures its Tuner (actor reuse, a checkpoint every epoch, ``CheckpointConfig(num_to_keep=2)``);
utilisation = sum of trial running time / (wall time x slots).

``scale``: 1,000 trials of a stub trainable (the same report + checkpoint every epoch, no
TensorFlow) on a 4-node Ray cluster started on this machine with ``ray start`` on
127.0.0.1 and token auth (the test suite's :class:`cluster.local_cluster.LocalRayCluster`);
the driver runs in its own process so its peak memory is its own. The project's bookkeeping
(records, trials table, Optuna study, summary JSON) is timed piece by piece on the result.

``optuna-write`` (also run inside ``scale``): ``write_optuna_study`` as a run calls it, two studies (the
guide's fixed name, which already holds a previous run of the same size, and the experiment's own), on
1,000 records shaped as the scale run's, side by side with Optuna's ``study.add_trials`` doing the same;
updates ``scale.optuna_write_ms_per_trial`` and keeps the rest of ``scale``.

Usage: python benchmarks/bench_scale.py {scheduling,scale,optuna-write} [--quick] [--trials N] [--out benchmarks/]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, add_common_args, local_ray, merge_result, peak_rss_mb  # noqa: E402

__all__ = ["stub_trial", "run_tuner", "main"]


def stub_trial(config: dict[str, Any], epochs: int = 2, epoch_s: float = 0.05) -> None:
    """The trainable's pattern without TensorFlow: per epoch a short sleep, a small checkpoint and one report."""
    import ray
    from ray import tune

    started = time.perf_counter()
    node_id = ray.get_runtime_context().get_node_id()
    for epoch in range(1, epochs + 1):
        time.sleep(epoch_s)
        with tempfile.TemporaryDirectory() as directory:
            (Path(directory) / "state.json").write_text(json.dumps({"epoch": epoch}))
            (Path(directory) / "model.keras").write_bytes(b"\0" * 64_000)  # a tiny model's size
            metrics = {"val_accuracy": 0.2 + 0.5 * config["dense_dropout_0"], "val_loss": 1.0, "accuracy": 0.5,
                       "loss": 1.0, "epoch": epoch, "setup_s": time.perf_counter() - started, "node_id": node_id}
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))


def run_tuner(trainable: Any, param_space: dict[str, Any], trials: int, storage: str, name: str,
              max_concurrent: int | None = None) -> tuple[Any, float]:
    """A Tuner set up as the Ray backend sets up its own (random search, FIFO); returns the grid and fit wall seconds."""
    from ray import tune

    tuner = tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(num_samples=trials, metric="val_accuracy", mode="max", reuse_actors=True,
                                    max_concurrent_trials=max_concurrent,
                                    trial_dirname_creator=lambda trial: f"trial_{trial.trial_id}"),
        run_config=tune.RunConfig(name=name, storage_path=storage, verbose=0,
                                  checkpoint_config=tune.CheckpointConfig(
                                      num_to_keep=2, checkpoint_score_attribute="val_accuracy",
                                      checkpoint_score_order="max")),
    )
    started = time.perf_counter()
    grid = tuner.fit()
    return grid, time.perf_counter() - started


def scheduling(args: argparse.Namespace) -> dict[str, Any]:
    """Utilisation of 2 CPU slots by many short trials of the real trainable."""
    from ray import tune

    from eeg.splits import make_split
    from eeg.synthetic import make_dummy_dataset
    from eeg.training import prepare_data

    dataset = make_dummy_dataset(smoke_test=True)
    data = prepare_data(dataset, make_split(dataset, "trial")).without_test()
    space = {"learning_rate": tune.loguniform(1e-4, 1e-2), "n_conv_blocks": 1, "cnn_filters_0": 16,
             "use_lstm": False, "dense_units_0": 32, "batch_size": 16}
    # One or two epochs: half the trials stop after one, as ASHA's first rung would stop them.
    trainable = tune.with_resources(tune.with_parameters(_one_or_two, data=data), {"cpu": 1})
    with local_ray(2), tempfile.TemporaryDirectory() as storage:
        grid, wall = run_tuner(trainable, {**space, "epochs": tune.choice([1, 2])}, args.trials, storage, "scheduling")
        frame = grid.get_dataframe()
    busy = float(frame["time_total_s"].sum())
    errors = sum(r.error is not None for r in grid)
    return {"utilization": round(busy / (wall * 2), 3), "goal": 0.9, "trials": args.trials, "errored_trials": errors,
            "fit_wall_s": round(wall, 1), "mean_trial_s": round(busy / len(frame), 3), "slots": 2,
            "epochs_run": int(frame["training_iteration"].sum()), "model": {**space, "learning_rate": "loguniform(1e-4, 1e-2)", "epochs": "1 or 2"}}


def _one_or_two(config: dict[str, Any], data: Any) -> None:
    from trainables.cnn_lstm import train_cnn_lstm

    train_cnn_lstm({k: v for k, v in config.items() if k != "epochs"}, data, max_epochs=int(config["epochs"]))


def scale_driver(args: argparse.Namespace) -> dict[str, Any]:
    """The driver's half of ``scale``: runs in its own process, connected to the cluster at ``args.address``."""
    import ray
    from ray import tune

    from engines.backends.ray_tune_run import collect_records
    from engines.experiment.files import write_json_atomic
    from engines.experiment.trials_table import write_trials_table
    from engines.tune.outputs import write_optuna_study
    from engines.tune.summary import summarise
    from engines.experiment.settings import load_settings
    from search_spaces import get_space
    from search_spaces.translate_ray import to_ray_param_space

    space = get_space()
    ray.init(address=args.address, log_to_driver=False, logging_level="ERROR")
    slots = int(ray.cluster_resources().get("CPU", 0))
    nodes = len([n for n in ray.nodes() if n["Alive"]])
    with tempfile.TemporaryDirectory() as storage:
        trainable = tune.with_resources(stub_trial, {"cpu": 1})
        grid, wall = run_tuner(trainable, to_ray_param_space(space), args.trials, storage, "scale")
        frame = grid.get_dataframe()
        timings = {}
        started = time.perf_counter()
        records = collect_records(grid, space, None, 2)
        timings["records_s"] = time.perf_counter() - started
        experiment = Path(storage) / "scale"
        started = time.perf_counter()
        write_trials_table(records, experiment)
        timings["trials_table_s"] = time.perf_counter() - started
        write = optuna_write_figures(records, space, experiment)
        timings["optuna_study_s"] = write["project_s"]
        started = time.perf_counter()
        settings = load_settings({"use_dummy_data": True, "max_trials": args.trials, "max_epochs": 2})
        summary = summarise(records, settings, run_wall_s=wall, utilisation=None, finished=True)
        write_json_atomic(experiment / "summary.json", summary)
        timings["summary_json_s"] = time.perf_counter() - started
    ray.shutdown()
    busy = float(frame["time_total_s"].sum())
    return {
        "trials": args.trials, "nodes": nodes, "slots": slots, "fit_wall_s": round(wall, 1),
        "driver_overhead_ms_per_trial": round((wall * slots - busy) / args.trials * 1000, 1),
        "wall_ms_per_trial": round(wall / args.trials * 1000, 1),
        "mean_trial_s": round(busy / len(frame), 3), "utilization": round(busy / (wall * slots), 3),
        "driver_peak_rss_mb": round(peak_rss_mb(), 1),
        "bookkeeping_s": {k: round(v, 2) for k, v in timings.items()},
        "bookkeeping_total_s": round(sum(timings.values()), 2),
        "distinct_nodes_used": int(frame["node_id"].nunique()) if "node_id" in frame else None,
        **{k: v for k, v in write.items() if k != "project_s"},
    }


def optuna_write_figures(records: list[Any], space: Any, folder: Path) -> dict[str, Any]:
    """Milliseconds a trial to write the run's two Optuna studies, the project's way and ``study.add_trials``'s."""
    import optuna

    from engines.experiment.layout import STUDY_NAME
    from engines.tune.outputs import _frozen_trial, write_optuna_study

    names = [STUDY_NAME, f"{STUDY_NAME}:scale"]
    project_url, optuna_url = f"sqlite:///{folder / 'project.db'}", f"sqlite:///{folder / 'add_trials.db'}"
    write_optuna_study(records, project_url, [STUDY_NAME], space)  # the previous run the fixed name replaces
    started = time.perf_counter()
    write_optuna_study(records, project_url, names, space)
    project_s = time.perf_counter() - started

    frozen = [_frozen_trial(record, space) for record in records]
    storage = optuna.storages.RDBStorage(optuna_url)
    optuna.create_study(study_name=STUDY_NAME, storage=storage, direction="maximize").add_trials(frozen)
    started = time.perf_counter()
    for name in names:  # what write_optuna_study did before it wrote the trials in one transaction
        if name == STUDY_NAME:
            optuna.delete_study(study_name=name, storage=storage)
        optuna.create_study(study_name=name, storage=storage, direction="maximize").add_trials(
            [_frozen_trial(record, space) for record in records])
    add_trials_s = time.perf_counter() - started
    loaded = optuna.load_study(study_name=names[1], storage=project_url).trials
    assert len(loaded) == len(records), (len(loaded), len(records))
    per_trial = 1000 / len(records)
    return {"project_s": project_s, "optuna_write_ms_per_trial": round(project_s * per_trial, 2),
            "optuna_write": {"studies": 2, "trials": len(records), "project_ms_per_trial": round(project_s * per_trial, 2),
                             "add_trials_ms_per_trial": round(add_trials_s * per_trial, 2),
                             "speedup": round(add_trials_s / project_s, 1), "goal_ms_per_trial": 10,
                             "note": "both studies of a run; the fixed name replaces a previous run of the same size"}}


def optuna_write(args: argparse.Namespace) -> dict[str, Any]:
    """``optuna-write`` alone: records like the scale run's (default space sampled, 2 epochs each), no cluster."""
    import random

    from engines.experiment.records import TrialRecord
    from search_spaces import get_space
    from search_spaces.translate_ray import to_ray_param_space

    space = get_space()
    domains = to_ray_param_space(space)
    rng = random.Random(0)
    records = []
    for i in range(args.trials):
        params = {k: (d.sample(random_state=rng.randrange(2**31)) if hasattr(d, "sample") else d) for k, d in domains.items()}
        history = [0.2 + 0.5 * float(params.get("dense_dropout_0", 0.1))] * 2
        records.append(TrialRecord(trial_id=f"t{i:05d}", params=params, status="complete", best_val_accuracy=history[-1],
                                   val_accuracy_history=history, epochs=2, wall_time_s=0.1, node_id="n1"))
    with tempfile.TemporaryDirectory() as folder:
        figures = optuna_write_figures(records, space, Path(folder))
    document = json.loads((Path(args.out) / "results.json").read_text()) if (Path(args.out) / "results.json").is_file() else {}
    kept = {k: v for k, v in document.get("scale", {}).items() if k not in figures}
    return {**kept, **{k: v for k, v in figures.items() if k != "project_s"}}


def scale(args: argparse.Namespace) -> dict[str, Any]:
    """Start head + 3 workers (1 CPU each) on 127.0.0.1 with token auth, run the driver, stop what was started."""
    from cluster.local_cluster import LocalRayCluster, ray_auth_env, write_token

    root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    token = root / "token"
    write_token(token)
    cluster = LocalRayCluster(root, token)
    try:
        cluster.start_head(num_cpus=1)
        for _ in range(3):
            cluster.add_worker(num_cpus=1)
        cluster.wait_for_nodes(4)
        result = root / "driver.json"
        command = [sys.executable, __file__, "scale-driver", "--address", cluster.address, "--trials",
                   str(args.trials), "--result", str(result)]
        env = {**ray_auth_env(token), "TF_CPP_MIN_LOG_LEVEL": "2"}
        subprocess.run(command, cwd=REPO, env=env, check=True, timeout=3600)
        return json.loads(result.read_text())
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["scheduling", "scale", "scale-driver", "optuna-write"])
    add_common_args(parser)
    parser.add_argument("--trials", type=int)
    parser.add_argument("--address", help="scale-driver: the cluster")
    parser.add_argument("--result", help="scale-driver: where to write its figures")
    args = parser.parse_args()
    if args.part == "scale-driver":
        Path(args.result).write_text(json.dumps(scale_driver(args)))
        return 0
    # 100 trials, not the 200: a tiny model's trial takes ~7 s here (graph tracing), so 200 take 12 minutes.
    defaults = {"scheduling": (100, 20), "scale": (1000, 50), "optuna-write": (1000, 100)}[args.part]
    args.trials = args.trials or defaults[1 if args.quick else 0]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    figures = {"scheduling": scheduling, "scale": scale, "optuna-write": optuna_write}[args.part](args)
    key = "scale" if args.part == "optuna-write" else args.part
    merge_result(args.out, key, figures)
    print(f"{key}: {json.dumps(figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
