"""One module per search engine; :func:`backend_for` picks the one ``--method`` names.

Each module is imported only when its method runs, so a Keras Tuner run never imports Ray.
"""

from __future__ import annotations

import importlib

from engines.backends.base import Backend

__all__ = ["BACKENDS", "backend_for"]

# --method -> (module, class); the CLI's --method choices are engines.experiment.settings.METHODS, the same keys.
BACKENDS: dict[str, tuple[str, str]] = {
    "ray": ("engines.backends.ray_tune_run", "RayTuneBackend"),
    "optuna": ("engines.backends.optuna_study", "OptunaBackend"),
    "keras-tuner": ("engines.backends.keras_tuner_search", "KerasTunerBackend"),
}


def backend_for(method: str) -> Backend:
    """A new backend for ``method`` (one of :data:`engines.experiment.settings.METHODS`, already validated)."""
    module_name, class_name = BACKENDS[method]
    return getattr(importlib.import_module(module_name), class_name)()
