"""``tune_cluster.py dashboard``: optuna-dashboard on an experiment's Optuna study, on this machine only by default.

Every method writes the experiment's study (``<output-dir>/tuning/optuna.db``, or ``--optuna-storage``):
a native Optuna run as its trials run, the Ray and Keras Tuner methods when they end. A Ray run with
``--searcher optuna`` also has OptunaSearch's own study, ``<study>:live``, in the same storage while
trials run; the dashboard opens it until the run's end has written the experiment's study. The
dashboard reads the storage live, so a page reload shows trials added since.
"""

from __future__ import annotations

import errno
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from eeg.errors import InputError
from engines.experiment.files import read_json_object
from engines.experiment.layout import LIVE_SUFFIX, study_location
from engines.experiment.settings import Settings
from engines.report.report import find_experiment

__all__ = ["study_address", "dashboard_server", "run_dashboard"]


def study_address(experiment_dir: Path, optuna_storage: str | None) -> tuple[str, int]:
    """The experiment's study: its storage URL and the study's id there; refused when it has none yet."""
    import optuna

    url, name = study_location(experiment_dir.parent, experiment_dir.name, optuna_storage)
    missing = InputError(f"{experiment_dir}: no Optuna study {name!r} in {url} yet (native Optuna and Ray's "
                         f"--searcher optuna write it as trials run; other searchers and Keras Tuner when the run ends)")
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise missing  # opening it would create an empty database
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.get_storage(url)
    for each in (name, f"{name}{LIVE_SUFFIX}"):  # the finished run's study, else the one Ray's TPE keeps as it runs
        try:
            return url, storage.get_study_id_from_name(each)
        except (KeyError, ValueError):
            continue
    raise missing


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        """One line per request would bury the address the user needs."""


def dashboard_server(url: str, host: str, port: int) -> WSGIServer:
    """optuna-dashboard's WSGI app on ``host:port``, bound now: a taken or impossible address is refused in one line."""
    import optuna_dashboard

    if not 0 < port < 65536:
        raise InputError(f"--port must be between 1 and 65535, got {port}")
    try:
        return make_server(host, port, optuna_dashboard.wsgi(url), handler_class=_QuietHandler)
    except OSError as error:
        why = "already in use (pass --port N)" if error.errno == errno.EADDRINUSE else error.strerror
        raise InputError(f"--host {host} --port {port}: {why}") from None


def run_dashboard(settings: Settings, experiment: str | None, *, host: str, port: int) -> int:
    """Serve optuna-dashboard on the experiment's study until Ctrl-C; print the address to open first."""
    experiment_dir = find_experiment(experiment, settings.output_dir)
    config = read_json_object(experiment_dir / "config.json")  # the run's own --optuna-storage, if it had one
    url, study_id = study_address(experiment_dir, config.get("optuna_storage") or settings.optuna_storage)
    with dashboard_server(url, host, port) as server:
        address = f"http://{host}:{port}/dashboard"
        print(f"Optuna dashboard of {experiment_dir.name}: {address}/studies/{study_id}", flush=True)
        print(f"  every study in {url}: {address}  (Ctrl-C stops it)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("dashboard stopped")
    return 0
