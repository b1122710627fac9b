"""Atomic writes and the one JSON reader every wing uses.

Everything is written atomically (a temporary file in the same folder, then ``os.replace``),
so an interrupted run never leaves half a file and a bad run never clobbers a good earlier
result. :func:`read_json` is how any JSON file of the project is read back.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

__all__ = ["UnreadableJSON", "read_json", "read_json_object", "replace_atomically", "write_json_atomic"]


class UnreadableJSON(ValueError):
    """A JSON file that exists but cannot be read or parsed (``read_json(..., strict=True)``)."""


def read_json(path: str | Path, *, strict: bool = False) -> Any:
    """The document in ``path``; None when there is no such file.

    A file that cannot be read or parsed gives None too, unless ``strict``: then
    :class:`UnreadableJSON` says why (a config or hyperparameter file the user must mend).
    """
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        if strict:
            raise UnreadableJSON(str(error)) from None
        return None


def read_json_object(path: str | Path) -> dict[str, Any]:
    """The JSON object in ``path``; empty when the file is missing, unreadable or holds something else."""
    document = read_json(path)
    return document if isinstance(document, dict) else {}


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _file_mode(path: Path) -> int:
    """The mode a plain write would give: the existing file's, else 0o666 less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def replace_atomically(path: Path, suffix: str) -> Iterator[Path]:
    """A temporary file beside ``path`` to write to; it replaces ``path`` when the block ends without an error.

    A crash leaves the old file (or none), never half a file; the result keeps the
    permissions a plain write would have (mkstemp's 0600 would hide shared results)::

        with replace_atomically(path, ".parquet") as tmp:
            frame.to_parquet(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, document: Any) -> None:
    """Write ``document`` as indented JSON to ``path`` atomically."""
    text = json.dumps(document, indent=2, default=_json_default) + "\n"
    with replace_atomically(Path(path), ".tmp") as tmp:
        tmp.write_text(text)
