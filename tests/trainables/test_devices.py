"""trainables/devices.py: a trial Ray gave no GPU sees none (Ray 2.60 leaves CUDA_VISIBLE_DEVICES alone then)."""

from __future__ import annotations

import types

import pytest

from trainables.devices import hide_unassigned_gpus


def _assigned(monkeypatch, resources):
    import ray

    monkeypatch.setattr(ray, "get_runtime_context",
                        lambda: types.SimpleNamespace(get_assigned_resources=lambda: resources))


@pytest.mark.parametrize("resources", [{"CPU": 1.0}, {"CPU": 1.0, "GPU": 0.0}])
def test_a_cpu_trial_hides_every_gpu_before_tensorflow_starts(monkeypatch, resources):
    _assigned(monkeypatch, resources)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)  # a GPU node: Ray set nothing
    assert hide_unassigned_gpus() == {"cpus": 1.0, "gpus": 0.0, "visible_devices": ""}


def test_a_gpu_trial_keeps_the_devices_ray_gave_it(monkeypatch):
    _assigned(monkeypatch, {"CPU": 1.0, "GPU": 0.5})
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert hide_unassigned_gpus() == {"cpus": 1.0, "gpus": 0.5, "visible_devices": "1"}
