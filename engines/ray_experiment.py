"""``tune_cluster.py tune --method ray``: validate, load, run or resume, then write the results.

Order matters for the exit-code contract: every check on the user's input runs before
anything is written, so a bad flag or file exits 2 with nothing created or overwritten.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

from eeg.errors import InputError

__all__ = ["run_ray_tune", "ExperimentPaths", "experiment_paths", "validate_tune_config"]

SMOKE_MAX_EPOCHS, SMOKE_MAX_TRIALS = 2, 3


class ExperimentPaths:
    """Where one experiment's files live.

    ``local`` holds what this project writes (trials table, plots, config, summary);
    ``ray`` is Ray's experiment folder (trial checkpoints, TensorBoard logs), which is
    the same folder unless ``--storage`` points at shared or cloud storage.
    """

    def __init__(self, output_dir: Path, storage: str | None, name: str) -> None:
        self.output_dir = Path(output_dir)
        self.name = name
        self.local = self.output_dir / "tuning" / name
        self.storage = storage or str((self.output_dir / "tuning").resolve())
        self.ray = f"{self.storage.rstrip('/')}/{name}"

    @property
    def summary_file(self) -> Path:
        return self.local / "summary.json"


def experiment_paths(config: Mapping[str, Any], name: str) -> ExperimentPaths:
    storage = config.get("storage")
    if storage and "://" not in str(storage):
        storage = str(Path(storage).expanduser().resolve())  # Ray wants an absolute local path
    return ExperimentPaths(Path(config["output_dir"]), storage, name)


def _positive_int(config: Mapping[str, Any], key: str, flag: str) -> int:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < 1:
        raise InputError(f"{flag} must be a whole number >= 1, got {value!r}")
    return int(value)


def validate_tune_config(config: dict[str, Any]) -> dict[str, Any]:
    """Check every tune setting and fill in derived ones; raises InputError on the first bad one."""
    from engines.config import parse_duration, parse_memory
    from engines.ray_tune import check_pairing, experiment_name

    settings = dict(config)
    settings["max_trials"] = _positive_int(config, "max_trials", "--max-trials")
    settings["max_epochs"] = _positive_int(config, "max_epochs", "--max-epochs")
    settings["grace_period"] = _positive_int(config, "grace_period", "--grace-period")
    if config.get("max_concurrent") is not None:
        settings["max_concurrent"] = _positive_int(config, "max_concurrent", "--max-concurrent")
    if isinstance(config["max_failures"], bool) or not isinstance(config["max_failures"], int) or config["max_failures"] < 0:
        raise InputError(f"--max-failures must be a whole number >= 0, got {config['max_failures']!r}")
    if float(config["cpus_per_trial"]) <= 0:
        raise InputError(f"--cpus-per-trial must be > 0, got {config['cpus_per_trial']!r}")
    if float(config["gpus_per_trial"]) < 0:
        raise InputError(f"--gpus-per-trial must be >= 0, got {config['gpus_per_trial']!r}")
    settings["time_budget_s"] = parse_duration(config.get("time_budget"))
    settings["memory_bytes"] = parse_memory(config.get("memory_per_trial"))
    check_pairing(config["searcher"], config["scheduler"], bool(config["checkpoint"]))
    if config.get("smoke_test"):
        # Ray's examples: --smoke-test shrinks trials, epochs and data, and still runs the real path.
        settings["max_epochs"] = min(settings["max_epochs"], SMOKE_MAX_EPOCHS)
        settings["max_trials"] = min(settings["max_trials"], SMOKE_MAX_TRIALS)
        settings["grace_period"] = 1
    if settings["grace_period"] > settings["max_epochs"]:
        raise InputError(
            f"--grace-period must be <= --max-epochs, got grace_period={settings['grace_period']}, "
            f"max_epochs={settings['max_epochs']}"
        )
    if config.get("resume") and not config.get("name"):
        raise InputError("--resume needs --name: the name of the experiment to continue (see <output-dir>/tuning/)")
    settings["name"] = config.get("name") or experiment_name(config["searcher"], config["scheduler"])
    if "/" in settings["name"] or settings["name"] in ("", ".", ".."):
        raise InputError(f"--name must be a plain folder name, got {settings['name']!r}")
    return settings


# What makes an experiment what it is: a resumed run takes these from the saved config.json.
_EXPERIMENT_KEYS = (
    "use_dummy_data", "data", "dataset", "label_rule", "split", "split_seed", "searcher", "scheduler", "max_trials",
    "max_epochs", "grace_period", "time_budget", "space", "seed", "checkpoint", "smoke_test", "cpus_per_trial",
    "gpus_per_trial", "memory_per_trial", "reuse_actors", "max_failures",
)


def settings_for_resume(
    config: Mapping[str, Any], settings: Mapping[str, Any], saved: Mapping[str, Any], name: str
) -> dict[str, Any]:
    """The command's settings with the experiment's own taken from its saved config.json.

    A flag left at its default takes the saved value; a flag set to a different value is refused,
    since continuing a BayesOpt search with TPE, or on other data, would mix two experiments.
    Values are compared after validation (``settings``), as they were saved (smoke shrinking applied).
    """
    from engines.config import DEFAULTS

    merged = dict(config)
    for key in _EXPERIMENT_KEYS:
        if key not in saved:
            continue
        given = settings.get(key)
        if config.get(key) != DEFAULTS[key] and given != saved[key]:
            flag = "--" + key.replace("_", "-")
            raise InputError(
                f"--resume: experiment '{name}' was run with {flag} {saved[key]!r}, got {given!r}; drop the flag "
                "to continue it, or start a new --name"
            )
        merged[key] = saved[key]
    return merged


def _ray_init(address: str | None) -> bool:
    """Connect to (or start) Ray; True when this call started it and must shut it down."""
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # inherited by local workers: keep TF's C++ chatter out
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        # The embedded Ray listens on loopback only; token authentication stays as Ray sets it.
        ray.init(include_dashboard=False, _node_ip_address="127.0.0.1")
    return True


def _trial_dirname(trial) -> str:
    # Ray's default folder name spells out the whole config and gets too long for some filesystems.
    return f"trial_{trial.trial_id}"


def _finished_summary(paths: ExperimentPaths) -> dict[str, Any] | None:
    if paths.summary_file.is_file():
        summary = json.loads(paths.summary_file.read_text())
        if summary.get("finished"):
            return summary
    return None


def run_ray_tune(config: dict[str, Any]) -> int:
    """Run (or resume) a Ray Tune experiment and write every output. Returns the exit code."""
    from ray import tune

    from engines.data import prepare_experiment_data
    from engines.ray_records import collect_records, saved_trial_statuses, summarise, write_experiment_outputs
    from engines.ray_tune import METRIC, MODE, build_scheduler, build_search
    from engines.config import save_config
    from search_spaces import get_space
    from eeg.model import DEFAULT_HPARAMS
    from trainables.cnn_lstm import train_cnn_lstm

    settings = validate_tune_config(config)
    paths = experiment_paths(settings, settings["name"])
    saved_config = paths.local / "config.json"
    if settings["resume"]:
        finished = _finished_summary(paths)
        if finished is not None:
            print(
                f"Experiment '{paths.name}' already finished ({finished['trials']} trials); nothing to resume. "
                f"Results: {paths.local}"
            )
            return 0
        if saved_config.is_file():
            saved = json.loads(saved_config.read_text())
            settings = validate_tune_config(settings_for_resume(config, settings, saved, paths.name))
    space = get_space(overrides_path=settings.get("space"))
    if settings["resume"]:
        if not tune.Tuner.can_restore(paths.ray):
            raise InputError(f"--resume: no experiment named '{paths.name}' to resume at {paths.ray}")
    elif tune.Tuner.can_restore(paths.ray) or paths.summary_file.exists() or (paths.local / "trials.parquet").exists():
        raise InputError(
            f"--name: experiment '{paths.name}' already exists at {paths.local}; pass --resume to continue it "
            "or choose another --name (nothing was overwritten)"
        )
    search = build_search(
        settings["searcher"], space, max_trials=settings["max_trials"], seed=int(settings["seed"]), defaults=DEFAULT_HPARAMS,
        smoke_test=bool(settings.get("smoke_test")),
    )
    data = prepare_experiment_data(settings)
    print(data.split.describe() if hasattr(data.split, "describe") else data.description)

    # Past this point the input is valid. Connect first: a cluster that cannot be reached leaves nothing behind.
    started_ray = _ray_init(settings.get("address"))
    paths.local.mkdir(parents=True, exist_ok=True)
    if not settings["resume"]:
        save_config({**settings, "data_description": data.description}, saved_config)
    try:
        import ray

        trainable = tune.with_parameters(
            train_cnn_lstm,
            data=data.prepared.without_test(),  # the tuner never sees the test split
            max_epochs=settings["max_epochs"],
            seed=int(settings["seed"]),
            cpus_per_trial=float(settings["cpus_per_trial"]),
            checkpoint=bool(settings["checkpoint"]),
            decode=search.decode,
        )
        resources = {"cpu": float(settings["cpus_per_trial"]), "gpu": float(settings["gpus_per_trial"])}
        if settings["memory_bytes"]:
            resources["memory"] = settings["memory_bytes"]
        trainable = tune.with_resources(trainable, resources)
        run_started = time.time()
        if settings["resume"]:
            tuner = tune.Tuner.restore(paths.ray, trainable=trainable, resume_errored=True)
        else:
            tuner = tune.Tuner(
                trainable,
                param_space=search.param_space,
                tune_config=tune.TuneConfig(
                    metric=METRIC,
                    mode=MODE,
                    search_alg=search.search_alg,
                    scheduler=build_scheduler(
                        settings["scheduler"], max_epochs=settings["max_epochs"], grace_period=settings["grace_period"]
                    ),
                    num_samples=search.num_samples,
                    max_concurrent_trials=settings.get("max_concurrent"),
                    time_budget_s=settings["time_budget_s"],
                    reuse_actors=bool(settings["reuse_actors"]),
                    trial_dirname_creator=_trial_dirname,
                ),
                run_config=tune.RunConfig(
                    name=paths.name,
                    storage_path=paths.storage,
                    checkpoint_config=tune.CheckpointConfig(
                        num_to_keep=2, checkpoint_score_attribute=METRIC, checkpoint_score_order=MODE
                    ),
                    failure_config=tune.FailureConfig(max_failures=int(settings["max_failures"])),
                    verbose=int(settings["verbose"]),
                ),
            )
        cluster_cpus = float(ray.cluster_resources().get("CPU", 0.0))
        grid = tuner.fit()
        run_wall_s = time.time() - run_started
        records = collect_records(
            grid, space, search.decode, settings["max_epochs"], statuses=saved_trial_statuses(paths.ray)
        )
        summary = summarise(records, settings, run_wall_s=run_wall_s, cluster_cpus=cluster_cpus)
        write_experiment_outputs(records, summary, settings, paths, space, data)
    finally:
        if started_ray:
            import ray

            ray.shutdown()
    if summary["running"]:
        return 130  # interrupted (Ctrl-C): resumable, and the hint was printed with the results
    if summary["trials"] == 0:
        print("error: no trial ran (is --time-budget shorter than a trial's start-up?)", flush=True)
        return 1
    if summary["failed"] == summary["trials"]:
        print(f"error: all {summary['trials']} trials failed; first reason: {summary['first_failure']}", flush=True)
        return 1
    return 0
