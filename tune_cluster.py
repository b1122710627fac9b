#!/usr/bin/env python3
"""The one CLI: ``tune`` (default) | ``train`` | ``verify`` | ``report`` | ``dashboard``.

Exit codes: 0 done; 2 the user's input is wrong (one line on stderr, nothing
written); 1 a real failure (with its traceback).

Examples:
    python tune_cluster.py --use-dummy-data --max-trials 5
    python tune_cluster.py tune --address auto --max-trials 200 --time-budget 8h --data /shared/deap --dataset deap
    python tune_cluster.py train --hparams models/best_hyperparameters.json --use-dummy-data
    python tune_cluster.py verify --hparams models/best_hyperparameters.json --use-dummy-data --seeds 3
    python tune_cluster.py report
    python tune_cluster.py dashboard --port 8080
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from typing import Any, Iterator, Sequence

__all__ = ["main", "build_parser"]

COMMANDS = ("tune", "train", "verify", "report", "dashboard")
# Settings and flags that name files or folders: made absolute before the command leaves its start folder.
_PATH_SETTINGS = ("data", "space", "output_dir", "storage", "optuna_storage", "feature_cache")
_PATH_ARGS = ("config_file", "hparams", "experiment")


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2 (the CLI contract)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {self.prog}: {message} (see --help)\n")
        raise SystemExit(2)


# What --seed, --smoke-test and --output-dir do differ by command: each subcommand's --help says its own.
_COMMAND_HELP = {
    "tune": {"seed": "seed for the trials' weights and the searcher", "smoke_test": "tiny data, trials and epochs: "
             "checks the path end to end (never replaces a full run's best_hyperparameters.json)",
             "output_dir": "where the experiment and best_hyperparameters.json go"},
    "train": {"seed": "seed for the final model's weights and shuffling, and the baselines'",
              "smoke_test": "tiny data and 2 epochs: checks the path end to end",
              "output_dir": "where emotion_model.keras and train_metrics.json go"},
    "verify": {"seed": "first training seed: configs train with --seed, --seed+1, ... (--seeds of them)",
               "smoke_test": "tiny data and 2 epochs: checks the path end to end",
               "output_dir": "where verify.json goes"},
}


def _add_data_flags(parser: argparse.ArgumentParser, command: str) -> None:
    from engines.experiment.settings import DATASET_KINDS, DEFAULTS, SPLITS

    said = _COMMAND_HELP[command]

    group = parser.add_argument_group("data")
    group.add_argument("--use-dummy-data", action="store_true", default=None, help="realistic synthetic EEG (no files needed)")
    group.add_argument("--data", help="a feature table (.npz/.csv/.parquet), DEAP's data_preprocessed_python or a SEED folder")
    group.add_argument("--dataset", choices=DATASET_KINDS, help=f"what --data holds (default: {DEFAULTS['dataset']})")
    group.add_argument("--label-rule", help="DEAP labels: valence | arousal | quadrants (default) | valence5")
    group.add_argument("--split", choices=SPLITS, help=f"hold out whole trials or whole subjects (default: {DEFAULTS['split']})")
    group.add_argument("--split-seed", type=int,
                       help=f"seed of the train/val/test split (default {DEFAULTS['split_seed']}; keep it across commands)")
    group.add_argument("--output-dir", help=f"{said['output_dir']} (default: {DEFAULTS['output_dir']})")
    group.add_argument("--seed", type=int, help=f"{said['seed']} (default {DEFAULTS['seed']})")
    group.add_argument("--smoke-test", action="store_true", default=None, help=said["smoke_test"])
    group.add_argument("--config", dest="config_file", help="YAML/JSON file of settings (flags override it)")


def _add_tune_flags(tune: argparse.ArgumentParser) -> None:
    from engines.backends.keras_tuner_search import ALGORITHMS
    from engines.backends.optuna_study import PRUNERS
    from engines.backends.ray_search import SCHEDULERS, SEARCHERS
    from engines.experiment.settings import DEFAULTS, METHODS

    def default(key: str) -> str:
        return f"(default {DEFAULTS[key]})"

    search = tune.add_argument_group("search")
    search.add_argument("--method", choices=METHODS, help=f"engine {default('method')}")
    search.add_argument("--searcher", help=f"ray: {' | '.join(SEARCHERS)} {default('searcher')}; optuna = TPE, hyperopt = TPE")
    search.add_argument("--scheduler", help=f"ray: {' | '.join(SCHEDULERS)} (bohb with --searcher bohb); "
                                            f"optuna's pruner: {' | '.join(PRUNERS)} {default('scheduler')}")
    search.add_argument("--tuning-algorithm", choices=ALGORITHMS, help=f"keras-tuner's algorithm {default('tuning_algorithm')}")
    search.add_argument("--max-trials", type=int, help=f"number of trials {default('max_trials')}")
    search.add_argument("--max-epochs", type=int, help=f"epochs a trial may run at most {default('max_epochs')}")
    search.add_argument("--grace-period", type=int, help=f"epochs before a scheduler may stop a trial {default('grace_period')}")
    search.add_argument("--time-budget", help="stop the experiment after this long, e.g. 8h or 45m")
    search.add_argument("--space", help="a built-in space, cnn_lstm (default) or pipeline (features, windows, "
                        "per-subject standardisation and the model family: CNN + LSTM, RBF-SVM, logistic regression), "
                        "or a YAML file overriding search-space ranges ('space: pipeline' in it starts from pipeline)")
    search.add_argument("--objective", help="accuracy (default), or accuracy,latency: every trial also reports "
                        "its latency per sequence, the search keeps a Pareto front and recommends its knee "
                        "(--method ray --searcher optuna)")
    search.add_argument("--feature-cache", help="--space pipeline: each node's folder for cached features "
                        "(default $XDG_CACHE_HOME or ~/.cache, under eeg_emotion_tuning/features)")
    search.add_argument("--cv", dest="cv_folds", type=int, help="score each trial by the mean over K grouped folds "
                        "of the tuning data (subjects with --split subject, whole recordings with --split trial); K >= 2")
    resources = tune.add_argument_group("resources")
    resources.add_argument("--address", help="Ray cluster address: auto on a cluster (default: an embedded local Ray)")
    resources.add_argument("--max-concurrent", type=int, help="trials running at once (default: as resources allow)")
    resources.add_argument("--cpus-per-trial", type=float, help=f"CPUs per trial {default('cpus_per_trial')}; sets TensorFlow's threads")
    resources.add_argument("--gpus-per-trial", type=float, help="GPUs per trial, fractional shares a card (e.g. 0.25)")
    resources.add_argument("--memory-per-trial", help="memory each trial reserves, e.g. 2G")
    resources.add_argument("--placement", metavar="{fixed,auto}", help="fixed: every trial asks --cpus-per-trial/--gpus-per-trial; auto: a "
                           "GPU share (--gpus-per-trial, else 0.5) for configs whose parameters x batch is large, where "
                           f"the cluster has GPUs, CPUs for the rest {default('placement')}")
    resources.add_argument("--pending-timeout", help="how long an autoscaling cluster may take to add a node that can "
                           f"run a trial before the run is refused {default('pending_timeout')}; given, any cluster waits")
    resources.add_argument("--no-reuse-actors", dest="reuse_actors", action="store_false", default=None,
                           help="start a fresh worker per trial (pays the TensorFlow import every time)")
    resources.add_argument("--max-failures", type=int, help=f"retries of a crashed trial from its checkpoint {default('max_failures')}")
    resources.add_argument("--no-checkpoint", dest="checkpoint", action="store_false", default=None,
                           help="no checkpoints (faster on slow storage; no pausing, no resume of a trial)")
    resources.add_argument("--checkpoint-every", help="checkpoint a trial every N epochs, or 'auto': once training "
                           "since the last save is 20x the save's time (<= 5%% overhead; every epoch on real data) "
                           f"{default('checkpoint_every')}; hyperband/bohb: every epoch")
    output = tune.add_argument_group("experiment")
    output.add_argument("--storage", help="experiment storage: a local or NFS path, or s3://bucket/prefix")
    output.add_argument("--optuna-storage", help="--method optuna: an Optuna RDB URL (e.g. postgresql://...) that "
                                                 "workers on several machines share (default: <output-dir>/tuning/optuna.db)")
    output.add_argument("--name", help="experiment name (default: ray: cnn_lstm_<searcher>_<scheduler>_<time>; optuna and "
                                       "keras-tuner: derived from the settings, so the same command finds the same experiment)")
    output.add_argument("--resume", action="store_true", default=None, help="continue the experiment --name")
    output.add_argument("--verbose", type=int, choices=(0, 1, 2), help=f"progress output {default('verbose')}")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="tune_cluster.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", parser_class=_OneLineParser)

    tune = commands.add_parser("tune", help="search hyperparameters (default)")
    _add_data_flags(tune, "tune")
    _add_tune_flags(tune)

    from engines.final_model.train import DEFAULT_EPOCHS

    for name, help_text in (("train", "train the final model"), ("verify", "default vs tuned on the held-out test split")):
        sub = commands.add_parser(name, help=help_text)
        _add_data_flags(sub, name)
        sub.add_argument("--hparams", help="best_hyperparameters.json (keys it does not set keep their defaults)")
        sub.add_argument("--epochs", type=int, default=None,
                         help=f"most epochs; early stopping on val_accuracy ends sooner (default {DEFAULT_EPOCHS})")
        sub.add_argument("--patience", type=int, default=6, help="early-stopping patience in epochs (default 6)")
        sub.add_argument("--feature-cache", help="a --space pipeline configuration: the folder of cached features "
                         "(default $XDG_CACHE_HOME or ~/.cache, under eeg_emotion_tuning/features)")
        if name == "verify":
            sub.add_argument("--seeds", type=int, default=3, help="training seeds per config (default 3)")
            sub.add_argument("--folds", help="cross-subject instead: K subject-grouped folds (K >= 3) of the data outside "
                                             "the test split, or loso (one fold per subject); mean and 95%% CI over folds")

    report = commands.add_parser("report", help="plots and a summary of an experiment")
    report.add_argument("--experiment", help="experiment folder (default: the newest under <output-dir>/tuning)")
    report.add_argument("--output-dir", help="where results are (default: models)")
    report.add_argument("--config", dest="config_file", help="YAML/JSON file of settings (its output_dir is used)")

    dashboard = commands.add_parser("dashboard", help="optuna-dashboard on an experiment's Optuna study")
    dashboard.add_argument("--experiment", help="experiment folder (default: the newest under <output-dir>/tuning)")
    dashboard.add_argument("--output-dir", help="where results are (default: models)")
    dashboard.add_argument("--config", dest="config_file", help="YAML/JSON file of settings (its output_dir is used)")
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default 127.0.0.1: this machine only; the study is readable "
                                "by anyone who can reach it)")
    dashboard.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    return parser


def _with_default_command(argv: Sequence[str]) -> list[str]:
    argv = list(argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        return ["tune", *argv]
    return argv


def _absolute(value: str | None, start: str) -> str | None:
    """``value`` as an absolute path from ``start`` (the folder the command was started in); a URI stays as it is.

    ``sqlite:///relative.db`` (an Optuna URL) gets an absolute file path; other URIs never depend on a folder.
    """
    if not value:
        return value
    if value.startswith("sqlite:///"):
        file = value[len("sqlite:///"):]
        if file.startswith("/") or file.startswith(":memory:") or not file:
            return value
        return "sqlite:///" + os.path.join(start, os.path.expanduser(file))
    if "://" in value:
        return value
    return os.path.normpath(os.path.join(start, os.path.expanduser(value)))


def _with_absolute_paths(settings: Any, args: argparse.Namespace) -> tuple[Any, argparse.Namespace]:
    """Every path of the command made absolute now, from the folder it was started in.

    The command then runs from a folder of its own (:func:`_driver_folder`), so nothing may be
    relative to the folder it was started in: on a cluster that is the job's copy of the
    repository, which Ray may delete and unpack again while the driver runs.
    """
    from eeg.errors import InputError

    try:
        start = os.getcwd()
    except FileNotFoundError:
        raise InputError("the current folder no longer exists (it was deleted): cd into an existing folder "
                         "and run the command again") from None
    from search_spaces import SPACE_NAMES

    absolute = {key: _absolute(getattr(settings, key), start) for key in _PATH_SETTINGS
                if not (key == "space" and settings.space in SPACE_NAMES)}  # a built-in space's name is no path
    args = argparse.Namespace(**{key: _absolute(value, start) if key in _PATH_ARGS else value
                                 for key, value in vars(args).items()})
    return settings.replace(**absolute), args


@contextlib.contextmanager
def _driver_folder() -> Iterator[str]:
    """Run from a fresh folder this process owns (removed at the end), then return to where it was started.

    A Ray job's driver starts in Ray's copy of the working directory, which a node's runtime-env agent
    may remove while the job runs (nodes sharing one temp folder on one machine: issue 19); Ray Tune
    then fails in ``os.getcwd()``. Imports never depend on the current folder either: relative entries
    of ``sys.path`` (``''`` under ``python -c``) are made absolute first.
    """
    start = os.open(".", os.O_RDONLY)  # returns here even if the folder was renamed or removed meanwhile
    try:
        here = os.getcwd()
        sys.path[:] = [os.path.join(here, entry) if not os.path.isabs(entry) else entry for entry in sys.path]
        folder = tempfile.mkdtemp(prefix="eeg-tuning-driver-")
        try:
            os.chdir(folder)
            yield folder
        finally:
            os.fchdir(start)
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(start)


def _import_the_project_now() -> None:
    """Run from a Ray job's copy of the working directory, import every project module before Ray starts.

    On nodes that share Ray's temp folder another node's runtime-env agent deletes that copy and unpacks it again
    while the job runs; a module imported lazily in that gap is missing (CI saw ``engines.backends.ray_cluster_fit``).
    Imported modules live in memory, so nothing later reads the copy. None of them imports TensorFlow at the top.
    """
    import importlib
    import pkgutil
    from pathlib import Path

    root = Path(__file__).resolve().parent
    if "runtime_resources" not in root.parts:
        return
    for package in ("eeg", "search_spaces", "trainables", "engines"):
        for module in pkgutil.walk_packages([str(root / package)], prefix=f"{package}."):
            importlib.import_module(module.name)


def _dispatch(args: argparse.Namespace) -> int:
    from engines.experiment.settings import DEFAULTS, load_settings

    _import_the_project_now()

    settings = load_settings({k: v for k, v in vars(args).items() if k in DEFAULTS}, args.config_file)
    settings, args = _with_absolute_paths(settings, args)
    with _driver_folder():
        return _run_command(args, settings)


def _run_command(args: argparse.Namespace, settings: Any) -> int:
    if args.command == "report":
        from engines.report.report import run_report

        return run_report(settings, args.experiment)
    if args.command == "dashboard":
        from engines.report.dashboard import run_dashboard

        return run_dashboard(settings, args.experiment, host=args.host, port=args.port)
    if args.command == "tune":
        from engines.tune.run import run_tune

        return run_tune(settings)
    from engines.final_model.train import is_pipeline_configuration, run_train
    from engines.final_model.verify import run_verify

    if is_pipeline_configuration(args.hparams):
        from engines.final_model.pipeline_final import run_train_pipeline, run_verify_pipeline

        if getattr(args, "folds", None) is not None:
            from eeg.errors import InputError

            raise InputError(f"{args.hparams}: verify --folds takes CNN + LSTM configurations so far; this is a "
                             "--space pipeline one (verify without --folds compares it on the test split)")

        if args.command == "train":
            return run_train_pipeline(settings, args.hparams, epochs=args.epochs, patience=args.patience)
        return run_verify_pipeline(settings, args.hparams, epochs=args.epochs, patience=args.patience,
                                   seeds=args.seeds)
    if args.command == "train":
        return run_train(settings, args.hparams, epochs=args.epochs, patience=args.patience)
    if args.folds is not None:
        from engines.final_model.folds import run_verify_folds

        return run_verify_folds(settings, args.hparams, folds=args.folds, epochs=args.epochs, patience=args.patience)
    return run_verify(settings, args.hparams, epochs=args.epochs, patience=args.patience, seeds=args.seeds)


def main(argv: Sequence[str] | None = None) -> int:
    # TensorFlow's C++ INFO lines (CPU features, oneDNN) would bury the results; warnings still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from eeg.errors import InputError

    args = build_parser().parse_args(_with_default_command(sys.argv[1:] if argv is None else argv))
    try:
        return _dispatch(args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
