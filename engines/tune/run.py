"""``tune_cluster.py tune``: one lifecycle for every method.

    backend checks -> name -> refuse, finish or continue an existing experiment -> space -> data
    -> (engine session) config.json -> backend.search -> summary -> outputs -> copy to storage -> exit code

Order matters for the exit-code contract: every check on the user's input runs before
anything is written, so a bad flag or file exits 2 with nothing created or overwritten.
An engine that keeps its experiment in ``--storage`` also gets config.json and, at the end,
the outputs copied there (:mod:`engines.experiment.storage`): a resume on a new machine compares against
the stored config when the local one is missing.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Mapping

from eeg.errors import InputError
from engines.backends import backend_for
from engines.backends.base import Backend, Run
from engines.experiment.data import prepare_experiment_data
from engines.experiment.layout import ExperimentPaths, experiment_paths, locked, read_saved_config
from engines.experiment.files import write_json_atomic
from engines.experiment.settings import DEFAULTS, Settings, flag, validate
from engines.experiment.storage import StorageError, read_stored_config, separate_storage, upload_outputs, write_stored_config
from engines.tune.outputs import write_experiment_outputs
from engines.tune.summary import exit_code, summarise, summary_lines, validation_context

__all__ = ["run_tune", "settings_for_experiment"]


def settings_for_experiment(settings: Settings, saved: Mapping[str, Any], keys: tuple[str, ...]) -> Settings:
    """The command's settings with the experiment's own taken from its saved config.json.

    A setting left at its default takes the saved value; one set to a different value is
    refused, since continuing a BayesOpt search with TPE, or on other data, would mix two
    experiments. Values are compared as they were saved (validated, smoke shrinking applied).
    """
    verb = "--resume" if settings.resume else "--name"
    if "method" in saved and saved["method"] != settings.method:
        raise InputError(
            f"{verb}: experiment '{settings.name}' was run with --method {saved['method']}, got "
            f"{settings.method}; continue it with --method {saved['method']} or choose another --name "
            "(nothing was overwritten)"
        )
    merged = settings.as_dict()
    for key in keys:
        if key not in saved:
            continue
        if settings.differs_from_default(key) and getattr(settings, key) != saved[key]:
            raise InputError(
                f"{verb}: experiment '{settings.name}' was run with {flag(key)} {saved[key]!r}, got "
                f"{getattr(settings, key)!r}; drop the flag to continue it, or start a new --name"
            )
        merged[key] = saved[key]
    return validate({k: v for k, v in merged.items() if k in DEFAULTS}, settings.given)


def _resolve_experiment(settings: Settings, backend: Backend) -> tuple[Settings, ExperimentPaths, bool, str | None]:
    """Name the experiment and decide: a new one, one this command continues, or one that needs nothing more.

    Returns the settings (the experiment's own where it continues), its paths, whether it
    existed, and the line to print when it is already done. Refusals raise InputError.
    """
    if not settings.name:
        settings = settings.replace(name=backend.default_name(settings))
    paths = experiment_paths(settings)
    exists = paths.local.exists() or backend.has_state(settings, paths)
    if settings.resume and not exists:
        raise InputError(f"--resume: no experiment named '{paths.name}' to resume at {paths.local}")
    if exists and not settings.resume and backend.on_existing == "refuse":
        raise InputError(
            f"--name: experiment '{paths.name}' already exists at {paths.local}; pass --resume to continue it "
            "or choose another --name (nothing was overwritten)"
        )
    saved = read_saved_config(paths)
    if saved is None and not paths.local.exists() and _stores(backend, paths):
        saved = read_stored_config(paths)  # a new machine (clean --output-dir): the experiment's own copy
    if paths.local.exists() and saved is None:
        raise InputError(
            f"--name: {paths.local} exists but holds no experiment (no config.json); choose another --name "
            "(nothing was overwritten)"
        )
    if saved is not None:  # a flag that would change the experiment is refused, finished or not
        settings = settings_for_experiment(settings, saved, backend.same_on_resume)
    return settings, paths, exists, backend.already_done(settings, paths)


def _stores(backend: Backend, paths: ExperimentPaths) -> bool:
    """Whether the experiment's storage is a place of its own (not the local ``tuning/<name>`` folder)."""
    return getattr(backend, "uses_storage", False) and separate_storage(paths)


def _storage_failed(error: StorageError, paths: ExperimentPaths, kept: str) -> int:
    """One line: what failed, what stays here, how to fetch or continue once the storage is back. Exit 1."""
    line = (f"error: {error}; {kept}. Once the storage answers, `make results NAME={paths.name}` fetches what it "
            f"holds, and `--resume --name {paths.name}` continues the experiment")
    print(" ".join(line.split()), file=sys.stderr, flush=True)
    return 1


def run_tune(settings: Settings) -> int:
    """Run (or continue) a search with the method ``settings`` names and write every output. Returns the exit code."""
    from search_spaces import resolve_space

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    backend = backend_for(settings.method)
    backend.check(settings)
    settings, paths, continuing, done = _resolve_experiment(settings, backend)
    if done is not None:
        print(done)
        return 0
    space = resolve_space(settings.space)  # checked against the model: a bad file fails here
    if space.name == "pipeline":
        from engines.experiment.data import check_pipeline_request

        check_pipeline_request(settings)
    translated = backend.translate(settings, space)
    data = prepare_experiment_data(settings, space)
    print(data.split.describe(), flush=True)

    # Past this point the input is valid: results may be written.
    run = Run(settings=settings, paths=paths, space=space, data=data, translated=translated, continuing=continuing)
    with backend.session(settings):
        with locked(paths):
            paths.local.mkdir(parents=True, exist_ok=True)
            if not paths.config_file.is_file():
                config = {**settings.as_dict(), "data_description": data.description}
                write_json_atomic(paths.config_file, config)
                if _stores(backend, paths):
                    try:
                        write_stored_config(paths, config)
                    except StorageError as error:
                        return _storage_failed(error, paths, "nothing has run")
        try:
            outcome = backend.search(run)
        except StorageError as error:
            return _storage_failed(error, paths, f"what {paths.output_dir} held before is kept")
    validation = validation_context(data, settings.seed)  # fitted here, before the lock: the writers only write
    with locked(paths):  # parallel workers take turns rewriting the guide's study and the shared files
        if outcome.recollect is not None:
            outcome = outcome.recollect()
        summary = {**summarise(outcome.records, settings, run_wall_s=outcome.run_wall_s,
                               utilisation=outcome.utilisation, finished=outcome.finished,
                               run_nodes=outcome.run_nodes),
                   **outcome.summary_extra, **validation.as_summary(), **outcome.metadata}
        written = write_experiment_outputs(outcome.records, summary, settings, paths, space,
                                           data_description=data.description, study_names=outcome.study_names,
                                           metadata=outcome.metadata)
    print("\n".join(summary_lines(written.summary, best_file=written.best_file, trials_table=written.trials_table,
                                  study_url=paths.optuna_url, unfinished_line=outcome.unfinished_line,
                                  kept_real=written.kept_real)), flush=True)
    if _stores(backend, paths):
        try:
            print(f"Outputs copied to {upload_outputs(paths, written.best_file)}", flush=True)
        except StorageError as error:
            return _storage_failed(error, paths, f"the outputs written here are kept in {paths.output_dir}")
    if outcome.stopped is not None:
        raise outcome.stopped
    if outcome.fatal is not None:
        print(f"{outcome.fatal}; first reason: {written.summary['first_failure']}", flush=True)
        return 1
    code, line = exit_code(written.summary, interrupted=outcome.interrupted)
    if line:
        print(line, flush=True)
    return code
