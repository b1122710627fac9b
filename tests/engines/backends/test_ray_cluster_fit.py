"""A trial no node can hold is refused in one line; an autoscaling cluster gets a bounded wait."""

from __future__ import annotations

import pytest

from eeg.errors import InputError
from engines.backends.ray_cluster_fit import TrialRequest, node_totals, unfit_line, wait_for_fit

GIB = 2**30
CPU_NODE = {"CPU": 2.0, "memory": 20.1 * GIB, "node:127.0.0.1": 1.0}
GPU_NODE = {"CPU": 8.0, "GPU": 1.0, "memory": 60 * GIB}


def test_a_gpu_request_on_cpu_only_nodes_names_the_flag_and_the_largest_node():
    line = unfit_line(TrialRequest(cpus=1, gpus=1), [CPU_NODE, CPU_NODE, {"CPU": 1.0, "memory": GIB}])
    assert line == ("--gpus-per-trial 1: no node of the cluster can run a trial "
                    "(largest node: 2 CPU, 0 GPU, 20.1 GiB memory; 3 nodes)")


def test_memory_above_every_node_names_memory_as_the_user_wrote_it():
    line = unfit_line(TrialRequest(cpus=1, memory_bytes=10 * 2**40, memory_text="10T"), [CPU_NODE, GPU_NODE])
    assert line.startswith("--memory-per-trial 10T: no node of the cluster can run a trial")
    assert "largest node: 8 CPU, 1 GPU, 60.0 GiB memory; 2 nodes" in line


def test_cpus_above_every_node_are_refused():
    line = unfit_line(TrialRequest(cpus=64), [CPU_NODE, GPU_NODE])
    assert line.startswith("--cpus-per-trial 64: ") and "largest node: 8 CPU" in line


def test_a_request_that_fits_on_one_node_of_several_passes():
    assert unfit_line(TrialRequest(cpus=4, gpus=1, memory_bytes=32 * GIB), [CPU_NODE, GPU_NODE, CPU_NODE]) is None


def test_resources_spread_over_nodes_but_never_on_one_name_every_requested_flag():
    line = unfit_line(TrialRequest(cpus=8, gpus=1), [{"CPU": 8.0, "memory": GIB}, {"CPU": 2.0, "GPU": 1.0}])
    assert line.startswith("--cpus-per-trial 8, --gpus-per-trial 1: no node")


@pytest.mark.parametrize(("cpus", "gpus"), [(0.5, 0.0), (0.3, 0.25), (2.0, 0.5), (0.1 + 0.2, 0.0)])
def test_fractional_requests_fit_on_a_node_with_at_least_that_much(cpus, gpus):
    assert unfit_line(TrialRequest(cpus=cpus, gpus=gpus), [{"CPU": 2.0, "GPU": 0.5}, {"CPU": 0.3}]) is None


def test_a_fractional_gpu_on_cpu_only_nodes_is_still_refused():
    assert unfit_line(TrialRequest(cpus=0.5, gpus=0.25), [CPU_NODE]).startswith("--gpus-per-trial 0.25: ")


def test_an_empty_cluster_fits_nothing():
    assert "0 nodes" in unfit_line(TrialRequest(cpus=1), [])


def test_dead_nodes_do_not_count():
    nodes = [{"Alive": False, "Resources": GPU_NODE}, {"Alive": True, "Resources": CPU_NODE}]
    assert node_totals(nodes) == [CPU_NODE]


class _Clock:
    """A fake clock that sleeping advances; records the sleeps."""

    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _wait(nodes_seen, *, can_grow, timeout_s=1.0, poll_s=0.25):
    clock, said, reads = _Clock(), [], iter(nodes_seen)
    last = [None]

    def read_nodes():
        last[0] = next(reads, last[0])
        return [{"Alive": True, "Resources": node} for node in last[0]]

    wait_for_fit(TrialRequest(cpus=1, gpus=1), read_nodes, can_grow=lambda: can_grow, timeout_s=timeout_s,
                 timeout_text=f"{timeout_s:g}s", poll_s=poll_s, sleep=clock.sleep, clock=clock, say=said.append)
    return clock, said


def test_a_fitting_request_neither_waits_nor_asks_whether_the_cluster_grows():
    def never():
        raise AssertionError("asked")

    wait_for_fit(TrialRequest(cpus=1), lambda: [{"Resources": CPU_NODE}], can_grow=never, timeout_s=1,
                 timeout_text="1s", sleep=lambda s: pytest.fail("slept"))


def test_a_cluster_that_cannot_grow_is_refused_at_once():
    with pytest.raises(InputError, match=r"^--gpus-per-trial 1: no node") as caught:
        _wait([[CPU_NODE]], can_grow=False)
    assert "pending-timeout" not in str(caught.value)


def test_an_autoscaling_cluster_is_polled_until_the_timeout_then_refused_in_one_line():
    with pytest.raises(InputError) as caught:
        _wait([[CPU_NODE]], can_grow=True, timeout_s=1.0, poll_s=0.25)
    message = str(caught.value)
    assert message.startswith("--gpus-per-trial 1: no node") and message.endswith("--pending-timeout 1s")
    assert "\n" not in message


def test_the_wait_sleeps_between_polls_and_stops_at_the_deadline():
    clock = _Clock()
    with pytest.raises(InputError):
        wait_for_fit(TrialRequest(cpus=1, gpus=1), lambda: [{"Resources": CPU_NODE}], can_grow=lambda: True,
                     timeout_s=1.0, timeout_text="1s", poll_s=0.4, sleep=clock.sleep, clock=clock, say=lambda _: None)
    assert clock.sleeps == pytest.approx([0.4, 0.4, 0.2]) and clock.now == pytest.approx(1.0)


def test_a_node_that_joins_while_waiting_ends_the_wait():
    clock, said = _wait([[CPU_NODE], [CPU_NODE], [CPU_NODE, GPU_NODE]], can_grow=True, timeout_s=10.0, poll_s=1.0)
    assert clock.now == pytest.approx(2.0)
    assert said[0].startswith("waiting up to 10s (--pending-timeout) for a node that can run a trial: --gpus-per-trial 1")
    assert "joined" in said[-1]


def test_the_wait_really_sleeps_with_the_default_clock():
    with pytest.raises(InputError):
        wait_for_fit(TrialRequest(cpus=1, gpus=1), lambda: [{"Resources": CPU_NODE}], can_grow=lambda: True,
                     timeout_s=0.05, timeout_text="0.05s", poll_s=0.02, say=lambda _: None)
