"""Errors that separate the user's bad input from a real failure.

The CLI maps :class:`InputError` to exit code 2 with its one-line message and no
traceback; anything else is a real failure (exit code 1).
"""

from __future__ import annotations

__all__ = ["InputError", "DataError", "HParamError"]


class InputError(ValueError):
    """The user's input breaks a rule. The message is one line: the object, the rule, the value."""

    def __init__(self, message: str) -> None:
        # One line on stderr is the contract: fold any newline a caller let through.
        super().__init__(" ".join(str(message).split()))


class DataError(InputError):
    """A data file or array is missing, unreadable or malformed."""


class HParamError(InputError):
    """A hyperparameter is unknown or out of its valid range."""
