"""Which devices a trial may use: the CPUs and GPU share Ray gave it, and no GPU when it was given none.

Ray 2.60 no longer sets ``CUDA_VISIBLE_DEVICES`` for a worker given zero GPUs (ray issue 54868),
so TensorFlow in a CPU trial on a GPU node would take every card and its memory. Call
:func:`hide_unassigned_gpus` before TensorFlow is imported in the worker.
"""

from __future__ import annotations

import os

__all__ = ["hide_unassigned_gpus"]


def hide_unassigned_gpus() -> dict[str, float | str | None]:
    """Hide every GPU from this process unless Ray assigned it one.

    Returns the ``cpus`` and ``gpus`` Ray gave the trial and the ``CUDA_VISIBLE_DEVICES`` TensorFlow
    will see (reported with every epoch, so a trial's result says where it ran and on what).
    """
    import ray

    assigned = ray.get_runtime_context().get_assigned_resources()
    if not assigned.get("GPU"):
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # read once, when TensorFlow first lists its devices
    return {"cpus": float(assigned.get("CPU", 0.0)), "gpus": float(assigned.get("GPU", 0.0)),
            "visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
