"""Whether one trial's resource request fits on some node of the Ray cluster.

Ray Tune leaves a trial PENDING for ever when no node can hold it (``--gpus-per-trial 1``
on CPU-only machines, ``--memory-per-trial`` above every node). :func:`unfit_line` says so
in one line instead, and :func:`wait_for_fit` gives an autoscaling cluster a bounded time to
add such a node. Both take the nodes as data (``ray.nodes()``), so they are tested without Ray.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from eeg.errors import InputError

__all__ = ["TrialRequest", "unfit_line", "node_totals", "cluster_can_grow", "wait_for_fit"]

_GIB = 2**30
_SLACK = 1e-6  # Ray keeps resources to 4 decimals: 0.1 + 0.2 CPUs must still fit on 0.3


@dataclass(frozen=True)
class TrialRequest:
    """What one trial asks of a single node, and the flags that asked it (as the user wrote them)."""

    cpus: float
    gpus: float = 0.0
    memory_bytes: int | None = None
    memory_text: str | None = None  # e.g. "10T", for the message

    def needs(self) -> dict[str, float]:
        """Resource name as Ray spells it in a node's ``Resources`` -> amount (only what is asked)."""
        wanted = {"CPU": self.cpus, "GPU": self.gpus, "memory": float(self.memory_bytes or 0)}
        return {name: amount for name, amount in wanted.items() if amount > 0}

    def flag_text(self, name: str) -> str:
        if name == "memory":
            return f"--memory-per-trial {self.memory_text or self.memory_bytes}"
        return f"--{name.lower()}s-per-trial {self.cpus if name == 'CPU' else self.gpus:g}"


def node_totals(nodes: Iterable[Mapping[str, Any]]) -> list[dict[str, float]]:
    """The total ``Resources`` of each alive node of ``ray.nodes()``."""
    return [dict(node.get("Resources") or {}) for node in nodes if node.get("Alive", True)]


def _fits(needs: Mapping[str, float], node: Mapping[str, float]) -> bool:
    return all(amount <= float(node.get(name, 0.0)) + _SLACK for name, amount in needs.items())


def _describe(node: Mapping[str, float]) -> str:
    return (f"{float(node.get('CPU', 0.0)):g} CPU, {float(node.get('GPU', 0.0)):g} GPU, "
            f"{float(node.get('memory', 0.0)) / _GIB:.1f} GiB memory")


def unfit_line(request: TrialRequest, nodes: Iterable[Mapping[str, float]]) -> str | None:
    """None when at least one node can hold one trial, else one line naming the request and the cluster.

    The flag named is the first resource no node has enough of (CPU, GPU, memory); when each
    is on some node but never all on one, every requested flag is named.

    Args:
        nodes: each alive node's total resources (:func:`node_totals`).
    """
    nodes = list(nodes)
    needs = request.needs()
    if any(_fits(needs, node) for node in nodes):
        return None
    short = [name for name, amount in needs.items() if not any(_fits({name: amount}, node) for node in nodes)]
    named = short[:1] or list(needs)
    key = named[0]
    # "Largest" by the resource that is short, then the others: the node closest to holding a trial.
    order = [key, *(name for name in ("GPU", "CPU", "memory") if name != key)]
    largest = max(nodes, key=lambda n: tuple(float(n.get(name, 0.0)) for name in order), default={})
    count = f"{len(nodes)} node" + ("" if len(nodes) == 1 else "s")
    return (f"{', '.join(request.flag_text(name) for name in named)}: no node of the cluster can run a trial "
            f"(largest node: {_describe(largest)}; {count})")


def cluster_can_grow() -> bool:
    """Whether the connected cluster's autoscaler reports a node group that can still add nodes.

    Reads the cluster config the autoscaler publishes in the GCS (as Ray Data's
    ``is_autoscaling_enabled`` does). Ray's v1 autoscaler (``ray up`` in Ray 2.x) does not publish
    it, so False means "not known to grow"; ``--pending-timeout`` given explicitly waits anyway.
    """
    try:
        import ray._private.state

        config = ray._private.state.state.get_cluster_config()
    except Exception:  # noqa: BLE001 - a private API that may move: "cannot tell" is "no"
        return False
    groups = getattr(config, "node_group_configs", None) or []
    return any(g.max_count == -1 or g.max_count > g.min_count for g in groups if g.resources and g.max_count != 0)


def wait_for_fit(
    request: TrialRequest,
    read_nodes: Callable[[], Iterable[Mapping[str, Any]]],
    *,
    can_grow: Callable[[], bool],
    timeout_s: float,
    timeout_text: str,
    poll_s: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    say: Callable[[str], None] = print,
) -> None:
    """Return once some node can hold one trial; raise InputError when none can (and none may come).

    When ``can_grow()`` (asked only if no node fits now) is false, an unfit request is refused
    at once. Else ``read_nodes`` (``ray.nodes``) is polled every ``poll_s`` seconds for up to
    ``timeout_s``, then refused with the same one line.
    """
    line = unfit_line(request, node_totals(read_nodes()))
    if line is None:
        return
    if not can_grow():
        raise InputError(line)
    say(f"waiting up to {timeout_text} (--pending-timeout) for a node that can run a trial: {line}")
    deadline = clock() + timeout_s
    while True:
        left = deadline - clock()
        if left <= 0:
            raise InputError(f"{line}; none joined within --pending-timeout {timeout_text}")
        sleep(min(poll_s, left))
        line = unfit_line(request, node_totals(read_nodes()))
        if line is None:
            say("a node that can run a trial joined the cluster")
            return
