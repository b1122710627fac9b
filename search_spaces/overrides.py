"""Load a YAML file that narrows or widens a search space (``--space my_space.yaml``).

The file maps parameter names to the fields to change; anything not mentioned keeps the
built-in range::

    learning_rate: {low: 1.0e-6, high: 5.0e-2}     # the guide's section 8.1 example
    cnn_filters_0: {low: 16, high: 512, step: 16}
    batch_size:    {choices: [32, 64, 128]}
    use_lstm:      {choices: [true]}                # only models with an LSTM

A file that starts from another built-in space names it first (``space: pipeline``).

Fields per kind: Float ``low, high, log``; Int ``low, high, step, log``; Categorical
``choices``; Bool ``choices`` (a subset of ``[true, false]``). Conditions stay as built.
Every mistake raises :class:`~search_spaces.space.SpaceError` (an ``InputError``: exit code
2, one line) naming the file, the parameter and the rule, before any trial starts; that
includes a well-formed value the model cannot build, which :func:`search_spaces.get_space`
catches with :func:`check_space_against_model`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from search_spaces.space import Bool, Categorical, Float, Int, Param, SearchSpace, SpaceError

__all__ = ["load_space_overrides", "read_base_space_name", "apply_space_overrides", "check_space_against_model", "FIELDS"]

FIELDS: dict[type, tuple[str, ...]] = {
    Float: ("low", "high", "log"),
    Int: ("low", "high", "step", "log"),
    Categorical: ("choices",),
    Bool: ("choices",),
}

# YAML 1.1 reads "1e-5" (no dot) as a string; accept it as the number the user meant.
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def load_space_overrides(path: str | os.PathLike[str], space: SearchSpace) -> SearchSpace:
    """Read ``path`` and return ``space`` with its ranges replaced.

    Args:
        path: A YAML file mapping parameter names to ``{low, high, step, log, choices}``.
        space: The built-in space to start from.

    Returns:
        A new, validated :class:`SearchSpace` whose ``source`` is ``path``.

    Raises:
        SpaceError: The file is missing or not YAML, a name or field is unknown, or a new
            range breaks a rule (``f"{path}: learning_rate needs low < high, got ..."``).
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpaceError(f"{where}: no such search-space file") from None
    except OSError as exc:
        raise SpaceError(f"{where}: cannot read search-space file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise SpaceError(f"{where}: not valid YAML{at} ({getattr(exc, 'problem', None) or exc})") from None
    if isinstance(data, Mapping) and "space" in data:  # the base space's name, read by read_base_space_name
        data = {name: fields for name, fields in data.items() if name != "space"}
    return apply_space_overrides(data, space, where=where)


def read_base_space_name(path: str | os.PathLike[str]) -> str | None:
    """The ``space:`` key of an override file (``space: pipeline``), or ``None`` when it names none."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None  # load_space_overrides reports the file's problem with its own message
    name = data.get("space") if isinstance(data, Mapping) else None
    return str(name) if name is not None else None


def apply_space_overrides(overrides: Any, space: SearchSpace, *, where: str = "overrides") -> SearchSpace:
    """Return ``space`` with the ranges in ``overrides`` (already parsed) replaced.

    Args:
        overrides: ``name -> {field: value}`` as read from YAML or JSON.
        space: The space to start from.
        where: Prefix for error messages (the file's path).

    Raises:
        SpaceError: As for :func:`load_space_overrides`.
    """
    if not isinstance(overrides, Mapping) or not overrides:
        raise SpaceError(
            f"{where}: expected a mapping of parameter names to ranges "
            f"(e.g. 'learning_rate: {{low: 1.0e-5, high: 1.0e-2}}'), got {_short(overrides)}"
        )
    replaced = {name: _override(space, str(name), fields, where) for name, fields in overrides.items()}
    params = tuple(replaced.get(p.name, p) for p in space)
    # Building the space re-checks every rule, with the file as the message prefix.
    return SearchSpace(name=space.name, params=params, source=where)


def check_space_against_model(space: SearchSpace, resolve_hparams: Callable[[Mapping[str, Any]], Any]) -> None:
    """Check that the model accepts every extreme of ``space`` before any trial runs.

    A space file can be well formed yet ask for what the model cannot build
    (``kernel_size: {choices: [9]}``, a dropout up to 1.0). Passing each parameter's ``low``,
    ``high`` and every choice through the model's own validator turns that into one clear
    error at load time instead of a failed trial hours later.

    Args:
        space: The (possibly overridden) space.
        resolve_hparams: The model's validator (``eeg.model.resolve_hparams``), passed in so
            this module stays independent of any one model; :func:`search_spaces.get_space`
            passes it for every override file.

    Raises:
        SpaceError: ``f"{space.where}: <the model's message>"`` for the first rejected value.
    """
    from eeg.errors import InputError

    for param in space:
        if isinstance(param, (Float, Int)):
            extremes: tuple[Any, ...] = (param.low, param.high)
        else:
            extremes = tuple(param.choices)
        for value in extremes:
            try:
                resolve_hparams({param.name: value})
            except InputError as exc:
                raise SpaceError(f"{space.where}: the model rejects {param.name}={value!r} ({exc})") from None


def _override(space: SearchSpace, name: str, fields: Any, where: str) -> Param:
    if name not in space:
        raise SpaceError(f"{where}: unknown parameter {name!r}; valid names: {', '.join(space.names)}")
    param = space[name]
    kind = type(param)
    if not isinstance(fields, Mapping) or not fields:
        raise SpaceError(
            f"{where}: {name} needs a mapping of fields ({', '.join(FIELDS[kind])}), got {_short(fields)}"
        )
    for field in fields:
        if field not in FIELDS[kind]:
            raise SpaceError(
                f"{where}: {name} has no field {field!r}; valid fields for a {kind.__name__}: "
                f"{', '.join(FIELDS[kind])}"
            )
    if kind in (Categorical, Bool):
        choices = _choices(fields["choices"], name, where)
        if kind is Bool and not all(isinstance(c, bool) for c in choices):
            raise SpaceError(f"{where}: {name} is a Bool; its choices must be true and/or false, got {choices!r}")
        return Categorical(name, tuple(choices), when=param.when)
    changes: dict[str, Any] = {}
    for field, value in fields.items():
        if field == "log":
            if not isinstance(value, bool):
                raise SpaceError(f"{where}: {name}.log must be true or false, got {value!r}")
            changes[field] = value
        else:
            changes[field] = _number(value, f"{name}.{field}", where, integer=kind is Int)
    # Validation happens when the new SearchSpace is built (one place for every rule).
    return dataclasses.replace(param, **changes)


def _number(value: Any, label: str, where: str, *, integer: bool) -> Any:
    if isinstance(value, str) and _FLOAT_RE.match(value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise SpaceError(f"{where}: {label} must be a finite number, got {value!r}")
    if integer:
        if float(value) != int(value):
            raise SpaceError(f"{where}: {label} must be an integer, got {value!r}")
        return int(value)
    return float(value)


def _choices(value: Any, name: str, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise SpaceError(f"{where}: {name}.choices must be a non-empty list, got {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return "nothing" if value is None else (text if len(text) <= 60 else text[:57] + "...")
