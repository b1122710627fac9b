"""The Ray Tune function trainable of ``--space pipeline``: preprocessing, then the chosen model family.

Features come from the node's cache (:mod:`eeg.feature_cache`): the first trial with a preprocessing configuration
computes them, every later one on that node reads them. A CNN + LSTM trial then trains exactly as
:func:`trainables.cnn_lstm.train_cnn_lstm` does (a report and checkpoint per epoch). A classical trial (RBF-SVM,
logistic regression) has no epochs: it is fitted once, and its score is reported at every epoch up to
``max_epochs`` with a small checkpoint each time. So ASHA and HyperBand see it at every rung at its full resource
(it never looks worse than it is at a low rung), a paused classical trial resumes without refitting, and its
time and node are recorded like any trial's.
"""

from __future__ import annotations

import json
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from ray import tune

__all__ = ["train_pipeline"]

_CLASSICAL_STATE_FILE = "classical.json"


def _report_classical(metrics: dict[str, Any], epoch: int, *, checkpoint: bool) -> None:
    if not checkpoint:
        tune.report({**metrics, "epoch": epoch})
        return
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / _CLASSICAL_STATE_FILE).write_text(json.dumps({"epoch": epoch, "metrics": metrics}))
        tune.report({**metrics, "epoch": epoch}, checkpoint=tune.Checkpoint.from_directory(directory))


def _restored_classical() -> tuple[int, dict[str, Any]] | None:
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as directory:
        state = json.loads((Path(directory) / _CLASSICAL_STATE_FILE).read_text())
    return int(state["epoch"]), dict(state["metrics"])


def train_pipeline(
    config: Mapping[str, Any],
    recordings: Any,
    max_epochs: int,
    seed: int = 0,
    cpus_per_trial: float = 1.0,
    checkpoint: bool = True,
    checkpoint_every: int | str = "auto",
    decode: Callable[[Mapping[str, Any]], dict] | None = None,
    cache_dir: str | None = None,
) -> None:
    """Run one pipeline configuration, reporting to Ray Tune every epoch.

    Args:
        config: the searcher's sample; ``decode`` maps encoded samples (BayesOpt, BOHB) back.
        recordings: :class:`eeg.pipeline_data.TuningRecordings` (no test recordings), from the object store.
        max_epochs, seed, cpus_per_trial, checkpoint, checkpoint_every: as for ``train_cnn_lstm``.
        cache_dir: the node's feature cache folder (``None``: :func:`eeg.feature_cache.default_cache_dir`).
    """
    entered = time.perf_counter()
    import logging

    from eeg.splits import majority_baseline
    from search_spaces.pipeline import split_pipeline_config

    # Ray logs "Checkpoint successfully created at ..." per report from here to the driver's console.
    logging.getLogger("ray.train._internal.storage").setLevel(logging.WARNING)

    prep, family, own = split_pipeline_config(decode(config) if decode else config)
    used = recordings.fitted(prep)
    restored = _restored_classical() if family != "cnn_lstm" else None
    if restored is not None:  # a paused or retried classical trial: its score is known, no refit
        last_epoch, metrics = restored
        _report_classical_epochs(metrics, last_epoch + 1, max_epochs, checkpoint_every)
        return
    started = time.perf_counter()
    data, cached = recordings.prepared(used, cache_dir=cache_dir)
    import ray

    fixed = {"features_s": time.perf_counter() - started, "features_cached": cached, "n_steps_used": used.n_steps,
             "n_features": int(data.input_shape[-1])}
    if family == "cnn_lstm":
        from trainables.cnn_lstm import train_cnn_lstm

        train_cnn_lstm(own, data, max_epochs, seed=seed, cpus_per_trial=cpus_per_trial, checkpoint=checkpoint,
                       checkpoint_every=checkpoint_every, extra_metrics=fixed)
        return
    from eeg.classical import fit_classical
    from trainables.devices import hide_unassigned_gpus

    from eeg.latency import sklearn_latency_ms, sklearn_parameter_count

    model, accuracy, fit_s = fit_classical(family, own, data.X_train, data.y_train, data.X_val, data.y_val, seed=seed)
    metrics = {"val_accuracy": accuracy, "fit_s": fit_s, **fixed,
               "latency_ms": sklearn_latency_ms(model, int(data.input_shape[-1])),
               "n_params": sklearn_parameter_count(model),
               "val_majority_baseline": majority_baseline(data.y_train, data.y_val),
               "node_id": ray.get_runtime_context().get_node_id(), "hostname": socket.gethostname(),
               "setup_s": time.perf_counter() - entered, **hide_unassigned_gpus()}
    _report_classical_epochs(metrics, 1, max_epochs, checkpoint_every if checkpoint else None)


def _report_classical_epochs(metrics: dict[str, Any], first: int, last: int, checkpoint_every: int | str | None) -> None:
    """Epochs ``first..last`` of a classical trial. Its state never changes, so one checkpoint (the first report's)
    serves a retry; a pausing scheduler (``checkpoint_every == 1``) resumes from the latest, so it gets one each."""
    for epoch in range(first, last + 1):
        _report_classical(metrics, epoch, checkpoint=checkpoint_every is not None
                          and (epoch == first or checkpoint_every == 1))
