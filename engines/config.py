"""Layered run configuration: grouped defaults, then an override file, then flags.

The resolved dict is what every engine reads and what is saved beside the results
(``config.json``), so a run can be read back and repeated exactly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping

from eeg.errors import InputError

__all__ = ["DEFAULTS", "resolve_config", "parse_duration", "parse_memory", "save_config"]

DEFAULTS: dict[str, Any] = {
    # -- data ------------------------------------------------------------------
    "use_dummy_data": False,
    "data": None,  # path to a feature table, DEAP or SEED folder
    "dataset": "table",  # table | deap | seed
    "label_rule": None,  # DEAP only: valence | arousal | quadrants | valence5
    "split": "trial",  # trial | subject
    "split_seed": 0,  # fixed apart from --seed so tune, train and verify hold out the same test split
    # -- search ----------------------------------------------------------------
    "method": "ray",  # ray | optuna | keras-tuner
    "searcher": "optuna",  # optuna | hyperopt | bayesopt | random | grid | bohb
    "scheduler": "asha",  # asha | hyperband | median | fifo | bohb (with --searcher bohb)
    "tuning_algorithm": "bayesian",  # keras-tuner only: bayesian | hyperband | random
    "max_trials": 20,
    "max_epochs": 12,
    "grace_period": 2,
    "time_budget": None,  # e.g. "8h", "45m"
    "space": None,  # YAML file overriding search-space ranges
    "seed": 0,
    # -- resources ---------------------------------------------------------------
    "address": None,  # None: an embedded local Ray; "auto" or ray://... for a cluster
    "max_concurrent": None,
    "cpus_per_trial": 1.0,
    "gpus_per_trial": 0.0,
    "memory_per_trial": None,  # e.g. "2G": Ray schedules no more trials on a node than fit
    "reuse_actors": True,
    "max_failures": 0,  # retries of a crashed trial from its last checkpoint
    "checkpoint": True,  # per-epoch checkpoints (HyperBand pauses trials and needs them)
    # -- output ------------------------------------------------------------------
    "output_dir": "models",
    "storage": None,  # default <output_dir>/tuning; NFS path or s3://bucket/prefix on a cluster
    "name": None,  # default cnn_lstm_<searcher>_<scheduler>_<timestamp>
    "resume": False,
    "smoke_test": False,
    "verbose": 1,
}

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])", re.IGNORECASE)
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str | float | int | None, flag: str = "--time-budget") -> float | None:
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
            raise InputError(f"{flag}: a duration looks like 8h, 1h30m, 45m or 600, got {text!r}")
    if seconds <= 0:
        raise InputError(f"{flag}: a duration must be positive, got {text!r}")
    return seconds


def parse_memory(text: str | int | None, flag: str = "--memory-per-trial") -> int | None:
    """Turn ``2G``, ``512M`` or a byte count into bytes."""
    if text is None:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?", str(text).strip(), re.IGNORECASE)
    if not match:
        raise InputError(f"{flag}: memory looks like 2G, 512M or a byte count, got {text!r}")
    scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[match.group(2).lower()]
    value = int(float(match.group(1)) * scale)
    if value <= 0:
        raise InputError(f"{flag}: memory must be positive, got {text!r}")
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


# The type each setting must have in a config file (flags are typed by argparse already).
_NUMBER = (int, float)
_TYPES: dict[str, tuple[type, ...]] = {
    **{k: (bool,) for k in ("use_dummy_data", "reuse_actors", "checkpoint", "resume", "smoke_test")},
    **{k: (int,) for k in ("split_seed", "max_trials", "max_epochs", "grace_period", "seed", "max_failures",
                           "verbose", "max_concurrent")},
    **{k: _NUMBER for k in ("cpus_per_trial", "gpus_per_trial")},
    **{k: (str, *_NUMBER) for k in ("time_budget", "memory_per_trial")},
}


def _check_type(origin: str, key: str, value: Any) -> None:
    expected = _TYPES.get(key, (str,))
    if value is None and DEFAULTS[key] is None:
        return
    is_bool = isinstance(value, bool)
    if (is_bool and bool not in expected) or not isinstance(value, expected):
        names = " or ".join("true/false" if t is bool else t.__name__ for t in expected)
        raise InputError(f"{origin}: {key} must be {names}, got {value!r}")


def resolve_config(flags: Mapping[str, Any], config_file: str | Path | None = None) -> dict[str, Any]:
    """Defaults, then ``config_file``, then every flag the user actually gave (not None).

    Raises:
        InputError: a key in the file or flags that is not a known setting, or a file value of the wrong type.
    """
    resolved = dict(DEFAULTS)
    layers = []
    if config_file is not None:
        layers.append((str(config_file), _load_override_file(config_file)))
    layers.append(("command line", {k: v for k, v in flags.items() if v is not None}))
    for origin, layer in layers:
        unknown = sorted(set(layer) - set(DEFAULTS))
        if unknown:
            raise InputError(f"{origin}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(DEFAULTS))})")
        if origin != "command line":
            for key, value in layer.items():
                _check_type(origin, key, value)
        resolved.update(layer)
    return resolved


def save_config(config: Mapping[str, Any], path: Path) -> None:
    """Write the resolved config as JSON (atomic, so a crash never leaves half a file)."""
    from engines.results import write_json_atomic

    write_json_atomic(path, dict(config))
