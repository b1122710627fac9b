"""The experiment's storage (``--storage``): a local or NFS path, or a ``s3://``/``gs://`` URI.

Ray keeps an experiment's state and checkpoints in ``<storage>/<name>``; this module puts
beside them what a new machine needs to continue or read the experiment when the machine that
ran it is gone (a cloud head after ``ray down``)::

    <storage>/<name>/eeg_experiment_config.json   the settings --resume compares (config.json's copy)
    <storage>/<name>/eeg_outputs/                  best_hyperparameters.json and tuning/<name>/ at the end

Every access goes through ``pyarrow.fs.FileSystem.from_uri``, which is what Ray uses, so a URI
Ray can write to (``s3://BUCKET/PREFIX?endpoint_override=HOST:PORT&scheme=http`` for an
S3-compatible server) works here too, with the same credentials.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eeg.errors import InputError
from engines.experiment.layout import ExperimentPaths, join_uri

__all__ = [
    "STORED_CONFIG",
    "STORED_OUTPUTS",
    "StorageError",
    "check_storage",
    "fetch_experiment",
    "read_stored_config",
    "separate_storage",
    "storage_answers",
    "upload_outputs",
    "write_stored_config",
]

STORED_CONFIG = "eeg_experiment_config.json"
STORED_OUTPUTS = "eeg_outputs"


class StorageError(RuntimeError):
    """The storage did not answer after the input was checked (e.g. the server stopped): a real failure."""


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:300] or type(error).__name__


def _filesystem(uri: str) -> tuple[Any, str]:
    import pyarrow.fs

    return pyarrow.fs.FileSystem.from_uri(uri)


def check_storage(storage: str | None) -> None:
    """Refuse a ``--storage`` URI that cannot be opened or reached, before anything runs.

    A plain path (local or NFS) is created when the run starts and is not checked here. A URI
    must name a filesystem pyarrow knows, a bucket that exists, and an endpoint that answers.

    Raises:
        InputError: one line naming --storage, the rule and the value.
    """
    if not storage or "://" not in storage:
        return
    import pyarrow.fs

    try:
        fs, path = _filesystem(storage)
    except (ValueError, TypeError, OSError) as error:  # pyarrow.ArrowInvalid is a ValueError
        raise InputError(
            f"--storage must be a path or a URI Ray can write to (s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, "
            f"file:///PATH) ({_first_line(error)}), got {storage!r}"
        ) from None
    if isinstance(fs, pyarrow.fs.LocalFileSystem):
        return
    bucket = path.strip("/").split("/", 1)[0]
    if not bucket:
        raise InputError(f"--storage must name a bucket (s3://BUCKET/PREFIX), got {storage!r}")
    try:
        info = fs.get_file_info(bucket)
    except OSError as error:
        raise InputError(f"--storage: the storage must answer ({_first_line(error)}), got {storage!r}") from None
    if info.type == pyarrow.fs.FileType.NotFound:
        raise InputError(f"--storage: bucket '{bucket}' must exist (create it first), got {storage!r}")


def storage_answers(uri: str) -> bool:
    """Whether the experiment folder ``uri`` (a path or URI) can still be listed: asked before a failure is blamed on it."""
    import pyarrow.fs

    try:
        fs, folder = _filesystem(uri)
        return fs.get_file_info(folder).type == pyarrow.fs.FileType.Directory
    except (OSError, ValueError):
        return False


def separate_storage(paths: ExperimentPaths) -> bool:
    """Whether Ray's experiment folder is somewhere else than the local ``tuning/<name>`` folder."""
    if "://" in paths.ray:
        return True
    return Path(paths.ray).resolve() != paths.local.resolve()


def write_stored_config(paths: ExperimentPaths, config: dict[str, Any]) -> None:
    """Write the experiment's settings to ``<storage>/<name>/eeg_experiment_config.json``.

    Raises:
        StorageError: the storage did not take it.
    """
    try:
        fs, folder = _filesystem(paths.ray)
        fs.create_dir(folder, recursive=True)
        with fs.open_output_stream(f"{folder}/{STORED_CONFIG}") as stream:
            stream.write(json.dumps(config, indent=2, default=str).encode())
    except OSError as error:
        raise StorageError(f"--storage: could not write {join_uri(paths.ray, STORED_CONFIG)} "
                           f"({_first_line(error)})") from None


def read_stored_config(paths: ExperimentPaths) -> dict[str, Any] | None:
    """The settings an earlier run saved in the experiment's storage, or None when there are none."""
    import pyarrow.fs

    uri = join_uri(paths.ray, STORED_CONFIG)
    try:
        fs, path = _filesystem(uri)
        if fs.get_file_info(path).type != pyarrow.fs.FileType.File:
            return None
        with fs.open_input_stream(path) as stream:
            return json.loads(stream.read())
    except OSError as error:
        raise InputError(f"--storage: the experiment's config must be readable ({_first_line(error)}), "
                         f"got {uri!r}") from None
    except ValueError:
        raise InputError(f"{uri}: unreadable experiment config; choose another --name (nothing was overwritten)") \
            from None


def upload_outputs(paths: ExperimentPaths, best_file: Path | None) -> str:
    """Copy the CLI's outputs (``best_hyperparameters.json``, ``tuning/<name>/``) to ``<storage>/<name>/eeg_outputs``.

    Returns the URI they went to.

    Raises:
        StorageError: the storage did not take them; the local copies are untouched.
    """
    import pyarrow.fs

    target = join_uri(paths.ray, STORED_OUTPUTS)
    try:
        fs, folder = _filesystem(target)
        local = pyarrow.fs.LocalFileSystem()
        fs.create_dir(f"{folder}/tuning/{paths.name}", recursive=True)
        pyarrow.fs.copy_files(str(paths.local.resolve()), f"{folder}/tuning/{paths.name}",
                              source_filesystem=local, destination_filesystem=fs)
        if best_file is not None and Path(best_file).is_file():
            pyarrow.fs.copy_files(str(Path(best_file).resolve()), f"{folder}/{Path(best_file).name}",
                                  source_filesystem=local, destination_filesystem=fs)
    except OSError as error:
        raise StorageError(f"--storage: could not copy the outputs to {target} ({_first_line(error)})") from None
    return target


def fetch_experiment(storage: str, name: str, results_dir: Path) -> list[Path]:
    """Copy ``<storage>/<name>`` here: Ray's experiment into ``tuning/<name>/ray_results``, the CLI's outputs
    (``eeg_outputs``) into ``results_dir`` itself. Returns the files written.

    Raises:
        InputError: the storage cannot be reached or holds no experiment ``name``.
    """
    import pyarrow.fs

    check_storage(storage)
    source = join_uri(storage, name)
    try:
        fs, folder = _filesystem(source)
        infos = fs.get_file_info(pyarrow.fs.FileSelector(folder, recursive=True, allow_not_found=True))
        local = pyarrow.fs.LocalFileSystem()
        written = []
        for info in infos:
            if info.type != pyarrow.fs.FileType.File:
                continue
            relative = info.path[len(folder.rstrip("/")) + 1:]
            if relative.startswith(f"{STORED_OUTPUTS}/"):
                target = results_dir / relative[len(STORED_OUTPUTS) + 1:]
            else:
                target = results_dir / "tuning" / name / "ray_results" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            # Streamed in chunks by pyarrow: a checkpoint need not fit in memory.
            pyarrow.fs.copy_files(info.path, str(target.resolve()), source_filesystem=fs,
                                  destination_filesystem=local)
            written.append(target)
    except OSError as error:
        raise InputError(f"--storage: the experiment must be readable ({_first_line(error)}), got {source!r}") \
            from None
    if not written:
        raise InputError(f"--name: no experiment named '{name}' in the storage, got {source!r}")
    return written
