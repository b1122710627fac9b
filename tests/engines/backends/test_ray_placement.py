"""engines/backends/ray_placement.py: --placement auto gives expensive configs a GPU share, the rest CPUs."""

from __future__ import annotations

import pytest

from eeg.errors import InputError
from engines.backends.ray_cluster_fit import TrialRequest
from engines.backends.ray_placement import (GPU_MIN_STEP_WORK, AutoPlacement, auto_placement_line, parameter_count,
                                            wants_gpu)
from engines.experiment.settings import validate

SHAPE, CLASSES = (8, 350), 5  # the default synthetic data's sequences
SMALL = {"n_conv_blocks": 1, "cnn_filters_0": 16, "use_lstm": False, "n_dense_layers": 1, "dense_units_0": 32,
         "batch_size": 16}
CPU_NODE = {"Alive": True, "Resources": {"CPU": 2.0, "memory": 8e9}}
GPU_NODE = {"Alive": True, "Resources": {"CPU": 2.0, "GPU": 1.0, "memory": 8e9}}


def test_the_step_work_rule_is_parameters_times_batch():
    assert wants_gpu(GPU_MIN_STEP_WORK // 32, 32) and not wants_gpu(GPU_MIN_STEP_WORK // 32 - 1, 32)


def test_the_guides_default_config_gets_the_gpu_share_and_a_one_block_model_cpus_only():
    placement = AutoPlacement(cpus=1.0, gpu_share=0.5, input_shape=SHAPE, n_classes=CLASSES)
    assert placement.request({}) == {"cpu": 1.0, "gpu": 0.5}
    assert placement.request(SMALL) == {"cpu": 1.0, "gpu": 0.0}
    assert placement.request({**SMALL, "batch_size": 128}) == {"cpu": 1.0, "gpu": 0.0}  # 17.6 k x 128 < 4 M
    bundle = placement({}).bundles[0]  # what Ray Tune gets: a placement group factory
    assert bundle["CPU"] == 1.0 and bundle["GPU"] == 0.5


def test_without_gpus_in_the_cluster_every_trial_asks_for_cpus_and_no_model_is_built(monkeypatch):
    import engines.backends.ray_placement as module

    monkeypatch.setattr(module, "parameter_count", lambda *a: pytest.fail("no GPUs: nothing to estimate"))
    placement = AutoPlacement(cpus=2.0, gpu_share=0.0, input_shape=SHAPE, n_classes=CLASSES, memory_bytes=2**30)
    assert placement.request({}) == {"cpu": 2.0, "gpu": 0.0, "memory": 2**30}


def test_the_searchers_encoded_sample_is_decoded_before_the_estimate():
    placement = AutoPlacement(cpus=1.0, gpu_share=0.25, input_shape=SHAPE, n_classes=CLASSES,
                              decode=lambda raw: SMALL if raw["pick"] == 0 else {})
    assert placement.request({"pick": 0})["gpu"] == 0.0 and placement.request({"pick": 1})["gpu"] == 0.25


def test_the_parameter_count_is_the_models_own():
    assert parameter_count(SMALL, SHAPE, CLASSES) < parameter_count({}, SHAPE, CLASSES)


def test_a_cluster_without_gpus_runs_everything_on_cpus_and_says_so():
    share, line = auto_placement_line(TrialRequest(cpus=1.0), 0.5, [CPU_NODE])
    assert share == 0.0 and line == "--placement auto: every trial on CPUs (the cluster has no GPUs)"


def test_a_cluster_with_a_gpu_node_gives_the_share_and_says_to_which_trials():
    share, line = auto_placement_line(TrialRequest(cpus=1.0), 0.5, [CPU_NODE, GPU_NODE])
    assert share == 0.5 and "get 0.5 GPU (1 GPU node(s)), the others CPUs only" in line


def test_a_gpu_node_too_small_for_a_trials_cpus_leaves_every_trial_on_cpus():
    share, line = auto_placement_line(TrialRequest(cpus=4.0), 0.5, [{"Resources": {"CPU": 8.0}}, GPU_NODE])
    assert share == 0.0 and "no GPU node can hold 4 CPU + 0.5 GPU" in line


def test_auto_is_refused_in_one_line_when_neither_a_cpu_nor_a_gpu_trial_fits():
    with pytest.raises(InputError, match="--placement auto: neither a CPU nor a GPU trial fits any node") as refused:
        auto_placement_line(TrialRequest(cpus=16.0), 0.5, [CPU_NODE, GPU_NODE])
    assert "\n" not in str(refused.value)


def test_an_unknown_placement_is_refused_naming_the_value():
    with pytest.raises(InputError, match="--placement must be one of fixed, auto, got 'gpu'"):
        validate({"placement": "gpu"})
