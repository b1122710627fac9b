"""Run settings: grouped defaults, then an override file, then flags; one validation into a frozen object.

:func:`load_settings` is the only place a setting is checked or converted: everything below
the CLI reads typed attributes of :class:`Settings` and never re-casts or re-validates. What
only one engine understands (Ray's searcher/scheduler pairs, Keras Tuner's algorithms) is
checked by that engine's backend (``engines.backends``), called by the run lifecycle before
anything is written. ``Settings.as_dict()`` is what is saved beside the results
(``config.json``), so a run can be read back and repeated exactly.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any, Mapping

from eeg.loaders import KINDS as DATASET_KINDS
from eeg.errors import InputError
from eeg.splits import STRATEGIES as SPLITS

__all__ = [
    "DEFAULTS",
    "METHODS",
    "PLACEMENTS",
    "SPLITS",
    "DATASET_KINDS",
    "SMOKE_MAX_EPOCHS",
    "SMOKE_MAX_TRIALS",
    "Settings",
    "load_settings",
    "validate",
    "parse_duration",
    "parse_memory",
    "flag",
]

METHODS = ("ray", "optuna", "keras-tuner")
# ray: fixed (every trial asks --cpus-per-trial/--gpus-per-trial) | auto (a GPU share for expensive configs).
PLACEMENTS = ("fixed", "auto")
SMOKE_MAX_EPOCHS, SMOKE_MAX_TRIALS = 2, 3

DEFAULTS: dict[str, Any] = {
    # -- data ------------------------------------------------------------------
    "use_dummy_data": False,
    "data": None,  # path to a feature table, DEAP or SEED folder
    "dataset": "table",  # table | deap | seed
    "label_rule": None,  # DEAP only: valence | arousal | quadrants | valence5
    "split": "trial",  # trial | subject
    "split_seed": 0,  # fixed apart from --seed so tune, train and verify hold out the same test split
    # --cv K: a trial's score is the mean over K grouped folds of the tuning data (eeg.cv_training). Off by
    # default, also with --split subject: the benchmark run so far is too small to support a default (BENCHMARKS.md).
    "cv_folds": None,
    # -- search ----------------------------------------------------------------
    "method": "ray",  # ray | optuna | keras-tuner
    "searcher": "optuna",  # ray: optuna | hyperopt | bayesopt | random | grid | bohb
    "scheduler": "asha",  # asha | hyperband | median | fifo | bohb (with --searcher bohb)
    "tuning_algorithm": "bayesian",  # keras-tuner only: bayesian | hyperband | random
    "max_trials": 20,
    # 40 epochs and grace 1: the settings benchmark (BENCHMARKS.md, "Which ASHA settings") found 12 epochs end 3.4
    # points below random search at 40, and grace 2 spend 1.6x the epochs of grace 1 for the same best.
    "max_epochs": 40,
    "grace_period": 1,
    "time_budget": None,  # e.g. "8h", "45m"
    "objective": "accuracy",  # or "accuracy,latency": a Pareto front, and its knee as the recommendation
    "space": None,  # a built-in space (cnn_lstm, pipeline) or a YAML file overriding search-space ranges
    "feature_cache": None,  # --space pipeline: each node's feature cache folder (default ~/.cache/eeg_emotion_tuning)
    "seed": 0,
    # -- resources ---------------------------------------------------------------
    "address": None,  # None: an embedded local Ray; "auto" or ray://... for a cluster
    "max_concurrent": None,
    "cpus_per_trial": 1.0,
    "gpus_per_trial": 0.0,
    "memory_per_trial": None,  # e.g. "2G": Ray schedules no more trials on a node than fit
    "placement": "fixed",  # auto: each trial's request from its config (engines/backends/ray_placement.py)
    # An autoscaling cluster gets this long to add a node that can hold one trial (--gpus-per-trial on
    # CPU-only nodes, say) before the run is refused; given explicitly, any cluster waits that long.
    "pending_timeout": "15m",
    "reuse_actors": True,
    # Retries of an errored trial (node lost, worker OOM-killed), each from its last checkpoint. 3 outlasts a
    # lost node plus two more restarts overnight; a bug fails fast enough, and a NaN loss is never retried.
    "max_failures": 3,
    "checkpoint": True,  # checkpoints (HyperBand pauses trials and needs them)
    # "auto": a checkpoint once the training since the last one is >= 20x what the last save took, so saving
    # costs <= 5% of throughput (the 95% goal) and a crash loses at most one epoch or 20 saves' time, whichever
    # is longer. On real EEG an epoch dwarfs a save: every epoch. On the benchmark's 0.74 s epochs with a 0.19 s
    # save, every ~5 epochs (BENCHMARKS.md). N: every N epochs. HyperBand and BOHB save every epoch (they pause).
    "checkpoint_every": "auto",
    # -- output ------------------------------------------------------------------
    "output_dir": "models",
    "storage": None,  # default <output_dir>/tuning; NFS path or s3://bucket/prefix on a cluster
    "optuna_storage": None,  # --method optuna: an Optuna RDB URL shared by workers on several machines
    "name": None,  # default: chosen by the method's backend
    "resume": False,
    "smoke_test": False,
    "verbose": 1,
}

# The type each setting must have in a config file (flags are typed by argparse already).
_NUMBER = (int, float)
_TYPES: dict[str, tuple[type, ...]] = {
    **{k: (bool,) for k in ("use_dummy_data", "reuse_actors", "checkpoint", "resume", "smoke_test")},
    **{k: (int,) for k in ("split_seed", "max_trials", "max_epochs", "grace_period", "seed", "max_failures",
                           "verbose", "max_concurrent", "cv_folds")},
    "checkpoint_every": (int, str),
    **{k: _NUMBER for k in ("cpus_per_trial", "gpus_per_trial")},
    **{k: (str, *_NUMBER) for k in ("time_budget", "memory_per_trial", "pending_timeout")},
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting of one command, validated and typed (see :data:`DEFAULTS` for their meaning).

    ``time_budget_s``, ``memory_bytes`` and ``pending_timeout_s`` are derived from ``time_budget``,
    ``memory_per_trial`` and ``pending_timeout``; with ``smoke_test`` the trials and epochs are already shrunk.
    """

    use_dummy_data: bool
    data: str | None
    dataset: str
    label_rule: str | None
    split: str
    split_seed: int
    cv_folds: int | None
    method: str
    searcher: str
    scheduler: str
    tuning_algorithm: str
    max_trials: int
    max_epochs: int
    grace_period: int
    time_budget: str | float | None
    objective: str
    space: str | None
    feature_cache: str | None
    seed: int
    address: str | None
    max_concurrent: int | None
    cpus_per_trial: float
    gpus_per_trial: float
    memory_per_trial: str | int | None
    placement: str
    pending_timeout: str | float
    reuse_actors: bool
    max_failures: int
    checkpoint: bool
    checkpoint_every: int | str  # N >= 1, or "auto"
    output_dir: str
    storage: str | None
    optuna_storage: str | None
    name: str | None
    resume: bool
    smoke_test: bool
    verbose: int
    time_budget_s: float | None = None
    memory_bytes: int | None = None
    pending_timeout_s: float = 900.0
    given: frozenset[str] = frozenset()  # the keys a file or flag set (the rest are defaults)

    def as_dict(self) -> dict[str, Any]:
        """The settings as saved in ``config.json``."""
        values = dataclasses.asdict(self)
        del values["given"]
        return values

    def replace(self, **changes: Any) -> "Settings":
        """A copy with ``changes`` (already valid values: the name a backend chose, say)."""
        return dataclasses.replace(self, **changes)

    def differs_from_default(self, key: str) -> bool:
        """Whether the user set ``key`` to something other than its default."""
        return key in self.given and getattr(self, key) != DEFAULTS[key]


def flag(key: str) -> str:
    """The command-line spelling of a setting: ``max_trials`` -> ``--max-trials``."""
    return "--" + key.replace("_", "-")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])", re.IGNORECASE)
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str | float | int | None, flag_name: str = "--time-budget") -> float | None:
    """Turn ``8h``, ``1h30m``, ``45m`` or a number of seconds into seconds."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        compact = str(text).strip().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", compact):
            seconds = float(compact)
        elif re.fullmatch(r"(\d+(\.\d+)?[dhms])+", compact, re.IGNORECASE):
            seconds = sum(float(n) * _SECONDS[u.lower()] for n, u in _DURATION.findall(compact))
        else:
            raise InputError(f"{flag_name}: a duration looks like 8h, 1h30m, 45m or 600, got {text!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"{flag_name}: a duration must be positive, got {text!r}")
    return seconds


def parse_memory(text: str | int | None, flag_name: str = "--memory-per-trial") -> int | None:
    """Turn ``2G``, ``512M`` or a byte count into bytes."""
    if text is None:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?", str(text).strip(), re.IGNORECASE)
    if not match:
        raise InputError(f"{flag_name}: memory looks like 2G, 512M or a byte count, got {text!r}")
    scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[match.group(2).lower()]
    value = int(float(match.group(1)) * scale)
    if value <= 0:
        raise InputError(f"{flag_name}: memory must be positive, got {text!r}")
    return value


def _load_override_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: config file not found")
    try:
        text = path.read_text()
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - any parse error is the user's file
        raise InputError(f"{path}: config file must be YAML or JSON, could not parse it ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: config file must hold a mapping of settings, got {type(data).__name__}")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def _check_type(origin: str, key: str, value: Any) -> None:
    expected = _TYPES.get(key, (str,))
    if value is None and DEFAULTS[key] is None:
        return
    is_bool = isinstance(value, bool)
    if (is_bool and bool not in expected) or not isinstance(value, expected):
        names = " or ".join("true/false" if t is bool else t.__name__ for t in expected)
        raise InputError(f"{origin}: {key} must be {names}, got {value!r}")


def _layered(flags: Mapping[str, Any], config_file: str | Path | None) -> tuple[dict[str, Any], frozenset[str]]:
    """Defaults, then ``config_file``, then every flag the user actually gave (not None); and the keys given."""
    resolved = dict(DEFAULTS)
    given: set[str] = set()
    layers = []
    if config_file is not None:
        layers.append((str(config_file), _load_override_file(config_file)))
    layers.append(("command line", {k: v for k, v in flags.items() if v is not None}))
    for origin, layer in layers:
        unknown = sorted(set(layer) - set(DEFAULTS))
        if unknown:
            raise InputError(f"{origin}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(DEFAULTS))})")
        for key, value in layer.items():
            _check_type(origin, key, value)
        resolved.update(layer)
        given.update(layer)
    return resolved, frozenset(given)


def _whole(values: Mapping[str, Any], key: str, minimum: int) -> int:
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or int(value) != value or value < minimum:
        raise InputError(f"{flag(key)} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _finite(values: Mapping[str, Any], key: str, *, positive: bool) -> float:
    value = values[key]
    rule = "> 0" if positive else ">= 0"  # then "a finite number": nan and inf are refused too
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or (value <= 0 if positive else value < 0):
        raise InputError(f"{flag(key)} must be {rule} (a finite number), got {value!r}")
    return float(value)


def _one_of(values: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    if values[key] not in choices:
        raise InputError(f"{flag(key)} must be one of {', '.join(choices)}, got {values[key]!r}")
    return values[key]


def validate(values: Mapping[str, Any], given: frozenset[str] = frozenset()) -> Settings:
    """Check every setting and derive the rest; raises InputError on the first bad one.

    Also used on a resumed experiment's merged settings, so both go through the same rules.
    ``given`` names the keys the user set (see :meth:`Settings.differs_from_default`).
    """
    checked = {key: values.get(key, default) for key, default in DEFAULTS.items()}
    _one_of(checked, "method", METHODS)
    _one_of(checked, "placement", PLACEMENTS)
    _one_of(checked, "split", SPLITS)
    _one_of(checked, "objective", ("accuracy", "accuracy,latency"))
    _one_of(checked, "dataset", DATASET_KINDS)
    for key in ("max_trials", "max_epochs", "grace_period"):
        checked[key] = _whole(checked, key, 1)
    if checked["checkpoint_every"] != "auto":
        if isinstance(checked["checkpoint_every"], str) and checked["checkpoint_every"].isdigit():
            checked["checkpoint_every"] = int(checked["checkpoint_every"])
        if not isinstance(checked["checkpoint_every"], int) or isinstance(checked["checkpoint_every"], bool) \
                or checked["checkpoint_every"] < 1:
            raise InputError(f"--checkpoint-every must be 'auto' or a whole number >= 1, "
                             f"got {checked['checkpoint_every']!r}")
    for key in ("seed", "split_seed", "max_failures"):
        checked[key] = _whole(checked, key, 0)
    if checked["cv_folds"] is not None:
        value = checked["cv_folds"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise InputError(f"--cv must be a whole number >= 2 (folds of the tuning data), got {value!r}")
    if checked["max_concurrent"] is not None:
        checked["max_concurrent"] = _whole(checked, "max_concurrent", 1)
    checked["cpus_per_trial"] = _finite(checked, "cpus_per_trial", positive=True)
    checked["gpus_per_trial"] = _finite(checked, "gpus_per_trial", positive=False)
    checked["verbose"] = _whole(checked, "verbose", 0)
    time_budget_s = parse_duration(checked["time_budget"])
    memory_bytes = parse_memory(checked["memory_per_trial"])
    pending_timeout_s = parse_duration(checked["pending_timeout"], "--pending-timeout")
    if checked["smoke_test"]:
        # Ray's examples: --smoke-test shrinks trials, epochs and data, and still runs the real path.
        checked["max_epochs"] = min(checked["max_epochs"], SMOKE_MAX_EPOCHS)
        checked["max_trials"] = min(checked["max_trials"], SMOKE_MAX_TRIALS)
        checked["grace_period"] = 1
    if checked["grace_period"] > checked["max_epochs"]:
        raise InputError(
            f"--grace-period must be <= --max-epochs, got grace_period={checked['grace_period']}, "
            f"max_epochs={checked['max_epochs']}"
        )
    if checked["resume"] and not checked["name"]:
        raise InputError("--resume needs --name: the name of the experiment to continue (see <output-dir>/tuning/)")
    name = checked["name"]
    if name is not None and ("/" in name or name in ("", ".", "..")):
        raise InputError(f"--name must be a plain folder name, got {name!r}")
    return Settings(**checked, time_budget_s=time_budget_s, memory_bytes=memory_bytes,
                    pending_timeout_s=pending_timeout_s, given=given)


def load_settings(flags: Mapping[str, Any], config_file: str | Path | None = None) -> Settings:
    """Layer defaults, ``config_file`` and ``flags`` (None means not given), then validate once.

    Raises:
        InputError: an unknown key, a file value of the wrong type, or a value that breaks its rule.
    """
    return validate(*_layered(flags, config_file))
