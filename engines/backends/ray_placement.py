"""``--placement auto``: each trial's resource request follows its configuration, so CPU and GPU nodes both work.

A lab cluster has a few GPU machines and more CPU machines; with one request for every trial one
kind idles. ``auto`` gives a trial a GPU share when its model is expensive (parameter count x batch
size: the multiply-adds of one training step, roughly, and a small batch leaves a GPU idle between
steps) and the cluster has GPUs; every other trial asks for CPUs only and lands on any node. Ray
Tune asks :class:`AutoPlacement` once per trial (``tune.with_resources`` with a callable).
``fixed`` (the default) asks ``--cpus-per-trial`` / ``--gpus-per-trial`` for every trial.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from eeg.errors import InputError
from engines.backends.ray_cluster_fit import TrialRequest, node_totals, unfit_line
from engines.experiment.settings import PLACEMENTS

__all__ = ["PLACEMENTS", "GPU_MIN_STEP_WORK", "AUTO_GPU_SHARE", "parameter_count", "wants_gpu", "AutoPlacement",
           "auto_placement_line"]

# Parameters x batch above which a trial asks for a GPU share: the guide's default config (0.41 M parameters
# on the default data) at batch 32 is 13 M, over it; one conv block of 16 filters without an LSTM at batch 16
# is 0.28 M, under it.
# Not measured on a GPU here (none was lent): a first guess, to be set from the GPU benchmark.
GPU_MIN_STEP_WORK = 4_000_000
AUTO_GPU_SHARE = 0.5  # two small EEG models share a card well; --gpus-per-trial sets another share


def parameter_count(hparams: Mapping[str, Any], input_shape: tuple[int, ...], n_classes: int) -> int:
    """The model's trainable and non-trainable parameters, from the model itself (built, never trained)."""
    from eeg.training import import_tensorflow_quietly

    import_tensorflow_quietly()  # no oneDNN/absl lines on the driver's console
    import keras

    from eeg.model import build_model

    count = build_model(hparams, input_shape, n_classes).count_params()
    keras.backend.clear_session()  # the driver builds one model per distinct config: keep its memory flat
    return int(count)


def wants_gpu(parameters: int, batch_size: int) -> bool:
    return parameters * batch_size >= GPU_MIN_STEP_WORK


@dataclass
class AutoPlacement:
    """Ray Tune's per-trial resource callable: a config in, a placement group factory out."""

    cpus: float
    gpu_share: float  # for the trials that get a GPU; 0 when the cluster has none
    input_shape: tuple[int, ...]
    n_classes: int
    decode: Callable[[Mapping[str, Any]], dict] | None = None
    memory_bytes: int | None = None
    _counts: dict[str, int] = field(default_factory=dict, repr=False)

    def request(self, config: Mapping[str, Any]) -> dict[str, float]:
        """``{"cpu", "gpu"[, "memory"]}`` for the trial of ``config`` (the searcher's sample)."""
        from eeg.model import resolve_hparams

        hparams = resolve_hparams(self.decode(config) if self.decode else config)
        gpu = 0.0
        if self.gpu_share > 0:
            key = json.dumps(hparams, sort_keys=True, default=str)
            if key not in self._counts:
                self._counts[key] = parameter_count(hparams, self.input_shape, self.n_classes)
            gpu = self.gpu_share if wants_gpu(self._counts[key], int(hparams["batch_size"])) else 0.0
        resources = {"cpu": self.cpus, "gpu": gpu}
        if self.memory_bytes:
            resources["memory"] = self.memory_bytes
        return resources

    def __call__(self, config: Mapping[str, Any]) -> Any:
        from ray.tune.execution.placement_groups import resource_dict_to_pg_factory

        return resource_dict_to_pg_factory(self.request(config))


def auto_placement_line(cpu_request: TrialRequest, gpu_share: float,
                        nodes: list[Mapping[str, Any]]) -> tuple[float, str]:
    """The GPU share ``auto`` may give (0 when no node can hold a GPU trial) and a line saying what it will do.

    Refused (InputError) when not even a CPU trial fits any node: neither kind can run.
    """
    totals = node_totals(nodes)
    cpu_unfit = unfit_line(cpu_request, totals)
    gpu_request = TrialRequest(cpus=cpu_request.cpus, gpus=gpu_share, memory_bytes=cpu_request.memory_bytes,
                               memory_text=cpu_request.memory_text)
    gpu_nodes = sum(1 for node in totals if float(node.get("GPU", 0.0)) > 0)
    gpu_fits = gpu_nodes > 0 and unfit_line(gpu_request, totals) is None
    if cpu_unfit is not None:
        raise InputError(f"--placement auto: neither a CPU nor a GPU trial fits any node: {cpu_unfit}")
    if not gpu_fits:
        why = "the cluster has no GPUs" if gpu_nodes == 0 else f"no GPU node can hold {gpu_request.cpus:g} CPU + " \
                                                              f"{gpu_share:g} GPU"
        return 0.0, f"--placement auto: every trial on CPUs ({why})"
    return gpu_share, (f"--placement auto: trials with parameters x batch >= {GPU_MIN_STEP_WORK:,} get {gpu_share:g} "
                       f"GPU ({gpu_nodes} GPU node(s)), the others CPUs only")
