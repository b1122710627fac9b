"""Parameter kinds and the :class:`SearchSpace` that holds them, as plain data.

A space says *what* may be tried; the ``translate_*`` modules say *how* one backend
samples it. Nothing here imports a tuning library, so a space can be built, overridden
and validated on a machine that has none of them.

Grid rule for integers: ``low`` and ``high`` must be multiples of ``step``. Ray's
``qrandint`` and hyperopt's ``quniform`` both draw multiples of ``step``; Optuna and
Keras Tuner draw ``low + k * step``. With the rule the two grids are the same, so every
backend searches exactly the same values.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from eeg.errors import InputError

__all__ = [
    "SpaceError",
    "Condition",
    "Float",
    "Int",
    "Categorical",
    "Bool",
    "Param",
    "SearchSpace",
    "describe",
    "coerce_value",
]

# Scalars every backend can carry as a categorical choice (Optuna's CategoricalChoiceType
# minus None, Keras Tuner's Choice types).
_CHOICE_TYPES = (bool, int, float, str)
# Relative slack for float round-off (exp(log(low)) can land one ulp below low).
_FLOAT_SLACK = 1e-9


class SpaceError(InputError):
    """A search space (or an override file for one) breaks a rule, or a backend cannot map it."""


@dataclass(frozen=True)
class Condition:
    """Makes a parameter active only while ``parent`` takes one of ``values``.

    Args:
        parent: Name of the parameter the condition reads; it must come earlier in the space.
        values: The parent's values that switch the parameter on.
    """

    parent: str
    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))

    def holds(self, config: Mapping[str, Any]) -> bool:
        """Whether ``config`` gives the parent one of the switching values."""
        return self.parent in config and _is_member(config[self.parent], self.values)


@dataclass(frozen=True)
class Float:
    """A real number in ``[low, high]``, drawn uniformly or, with ``log``, log-uniformly."""

    name: str
    low: float
    high: float
    log: bool = False
    when: Condition | None = None

    def check(self, where: str) -> None:
        """Raise :class:`SpaceError` prefixed with ``where`` if the range is unusable."""
        _check_range(where, self.name, self.low, self.high, self.log, integer=False)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a float inside the range (round-off slack allowed)."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        slack = _FLOAT_SLACK * max(abs(self.low), abs(self.high), 1e-300)
        return self.low - slack <= float(value) <= self.high + slack


@dataclass(frozen=True)
class Int:
    """An integer in ``[low, high]`` on the grid of multiples of ``step``.

    ``log`` draws log-uniformly and needs ``step == 1`` (Optuna's and Keras Tuner's rule).
    """

    name: str
    low: int
    high: int
    step: int = 1
    log: bool = False
    when: Condition | None = None

    def check(self, where: str) -> None:
        """Raise :class:`SpaceError` prefixed with ``where`` if the range or grid is unusable."""
        _check_range(where, self.name, self.low, self.high, self.log, integer=True)
        if isinstance(self.step, bool) or not isinstance(self.step, numbers.Integral) or self.step <= 0:
            raise SpaceError(f"{where}: {self.name} needs an integer step > 0, got step={self.step!r}")
        if self.log and self.step != 1:
            raise SpaceError(f"{where}: {self.name} with log=true needs step=1, got step={self.step}")
        if self.low % self.step or self.high % self.step:
            raise SpaceError(
                f"{where}: {self.name} needs low and high to be multiples of step (every backend then "
                f"draws the same grid), got low={self.low}, high={self.high}, step={self.step}"
            )

    @property
    def grid(self) -> list[int]:
        """Every value the parameter can take, ascending."""
        return list(range(self.low, self.high + 1, self.step))

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is an ``int`` (not a bool, not a float) on the grid."""
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            return False
        return self.low <= value <= self.high and (value - self.low) % self.step == 0


@dataclass(frozen=True)
class Categorical:
    """One of ``choices`` (bool, int, float or str scalars), no order assumed."""

    name: str
    choices: tuple[Any, ...]
    when: Condition | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(self.choices))

    def check(self, where: str) -> None:
        """Raise :class:`SpaceError` prefixed with ``where`` if the choices are unusable."""
        if not self.choices:
            raise SpaceError(f"{where}: {self.name} needs a non-empty list of choices, got []")
        for choice in self.choices:
            if not isinstance(choice, _CHOICE_TYPES):
                raise SpaceError(
                    f"{where}: {self.name} choices must be numbers, strings or booleans, got {choice!r}"
                )
        if len(set(map(_typed, self.choices))) != len(self.choices):
            raise SpaceError(f"{where}: {self.name} choices must be unique, got {list(self.choices)!r}")

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one of the choices, with the same type (``True`` is not ``1``)."""
        return _is_member(value, self.choices)


@dataclass(frozen=True)
class Bool:
    """``False`` or ``True``."""

    name: str
    when: Condition | None = None
    choices: tuple[bool, ...] = field(default=(False, True), init=False)

    def check(self, where: str) -> None:
        """Nothing can be wrong with a boolean."""

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a real ``bool`` (``1`` and ``numpy.bool_`` are not)."""
        return isinstance(value, bool)


Param = Union[Float, Int, Categorical, Bool]


@dataclass(frozen=True)
class SearchSpace:
    """An ordered collection of parameters; validated when built.

    Args:
        name: Short name of the model the space belongs to (``"cnn_lstm"``).
        params: The parameters, parents before the parameters their conditions read.
        source: Where the space came from, used as the prefix of error messages
            (an override file's path); defaults to ``search space '<name>'``.

    Raises:
        SpaceError: A parameter's range is unusable, a name repeats, or a condition reads a
            parameter that is unknown, comes later, or cannot be compared by value.
    """

    name: str
    params: tuple[Param, ...]
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))
        where = self.where
        seen: dict[str, Param] = {}
        for param in self.params:
            if not isinstance(param, (Float, Int, Categorical, Bool)):
                raise SpaceError(f"{where}: {param!r} is not a Float, Int, Categorical or Bool")
            if param.name in seen:
                raise SpaceError(f"{where}: parameter {param.name} is defined twice")
            param.check(where)
            if param.when is not None:
                parent = seen.get(param.when.parent)
                if parent is None:
                    raise SpaceError(
                        f"{where}: {param.name} is conditional on {param.when.parent!r}, which must be "
                        f"defined before it; defined so far: {', '.join(seen) or 'none'}"
                    )
                if isinstance(parent, Float):
                    raise SpaceError(
                        f"{where}: {param.name} is conditional on {parent.name}, a Float; conditions "
                        "need an Int, Categorical or Bool parent"
                    )
                if not param.when.values:
                    raise SpaceError(f"{where}: {param.name}'s condition on {parent.name} lists no values")
            seen[param.name] = param

    @property
    def where(self) -> str:
        """Prefix for error messages about this space."""
        return self.source or f"search space '{self.name}'"

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in definition order."""
        return tuple(p.name for p in self.params)

    def __iter__(self) -> Iterator[Param]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def is_active(self, name: str, config: Mapping[str, Any]) -> bool:
        """Whether parameter ``name`` matters for ``config`` (its condition chain holds)."""
        param = self[name]
        while param.when is not None:
            if not param.when.holds(config):
                return False
            param = self[param.when.parent]
        return True

    def active_names(self, config: Mapping[str, Any]) -> tuple[str, ...]:
        """The parameters that matter for ``config``, in definition order."""
        return tuple(n for n in self.names if self.is_active(n, config))

    def validate_config(self, config: Mapping[str, Any], *, where: str = "config") -> None:
        """Check that ``config`` is one point of this space.

        Every known key must hold a value of the right type inside its range or choices,
        and every parameter active for ``config`` must be present. Inactive parameters may
        be present or absent (the model ignores them). Keys outside the space are errors.

        Raises:
            SpaceError: Naming the first offending key, its rule and its value.
        """
        for key, value in config.items():
            if key not in self:
                raise SpaceError(f"{where}: unknown parameter {key!r}; valid names: {', '.join(self.names)}")
            param = self[key]
            if not param.contains(value):
                raise SpaceError(f"{where}: {key}={value!r} ({type(value).__name__}) is outside {describe(param)}")
        missing = [n for n in self.active_names(config) if n not in config]
        if missing:
            raise SpaceError(f"{where}: active parameters missing: {', '.join(missing)}")


def describe(param: Param) -> str:
    """One-line description of a parameter's domain for error messages and logs."""
    if isinstance(param, Float):
        return f"Float[{param.low}, {param.high}]{' log' if param.log else ''}"
    if isinstance(param, Int):
        return f"Int[{param.low}, {param.high}] step {param.step}{' log' if param.log else ''}"
    return f"{type(param).__name__}{list(param.choices)!r}"


def coerce_value(param: Param, value: Any, where: str = "config") -> Any:
    """Turn a backend's raw draw into a plain Python value of ``param``'s domain.

    numpy scalars become Python scalars; a float drawn for an Int is rounded onto the grid;
    numbers are clipped into ``[low, high]`` (round-off, or a widened sampling range). A value
    that cannot belong to the domain at all raises instead of being guessed at.

    Raises:
        SpaceError: ``value`` has the wrong kind (a string for a number, an unknown choice).
    """
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        value = value.item()  # numpy scalar -> Python scalar
    if isinstance(param, (Float, Int)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise SpaceError(f"{where}: {param.name} needs a number, got {value!r}")
        if isinstance(param, Float):
            return min(max(float(value), float(param.low)), float(param.high))
        k = round((float(value) - param.low) / param.step)
        return int(min(max(param.low + k * param.step, param.low), param.high))
    if isinstance(param, Bool) and isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    if not param.contains(value):
        raise SpaceError(f"{where}: {param.name}={value!r} is outside {describe(param)}")
    return value


def _typed(value: Any) -> tuple[type, Any]:
    # bool is an int subclass and 1 == 1.0 == True; compare (type, value) so choices stay distinct.
    return (bool if isinstance(value, bool) else float if isinstance(value, float) else type(value), value)


def _is_member(value: Any, choices: tuple[Any, ...]) -> bool:
    key = _typed(value)
    return any(_typed(c) == key for c in choices)


def _check_range(where: str, name: str, low: Any, high: Any, log: Any, *, integer: bool) -> None:
    kind = numbers.Integral if integer else numbers.Real
    noun = "an integer" if integer else "a number"
    for label, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
            raise SpaceError(f"{where}: {name}.{label} must be {noun}, got {value!r}")
    if not isinstance(log, bool):
        raise SpaceError(f"{where}: {name}.log must be true or false, got {log!r}")
    if not low < high:
        raise SpaceError(f"{where}: {name} needs low < high, got low={low}, high={high}")
    if log and low <= 0:
        raise SpaceError(f"{where}: {name} with log=true needs low > 0, got low={low}")
