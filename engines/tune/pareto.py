"""``--objective accuracy,latency``: the trials no other trial beats on both validation accuracy and latency, and
the knee among them that ``best_hyperparameters.json`` recommends.

The knee is the front's point nearest the ideal corner (the front's best accuracy at its lowest latency) once both
objectives are scaled to ``[0, 1]`` over the front, a common reading of "the best trade-off" (e.g. Branke et al.,
PPSN 2004) that needs no weights from the user.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from engines.experiment.records import TrialRecord

__all__ = ["OBJECTIVES", "pareto_front", "knee", "front_document"]

OBJECTIVES: tuple[str, ...] = ("accuracy", "accuracy,latency")


def _scored(records: Sequence[TrialRecord]) -> list[TrialRecord]:
    return [r for r in records if r.status not in ("failed", "diverged", "running")
            and r.best_val_accuracy is not None and r.latency_ms is not None and math.isfinite(r.latency_ms)]


def pareto_front(records: Sequence[TrialRecord]) -> list[TrialRecord]:
    """The non-dominated trials (higher accuracy, lower latency), by ascending latency."""
    scored = _scored(records)
    front = [r for r in scored if not any(
        o.best_val_accuracy >= r.best_val_accuracy and o.latency_ms <= r.latency_ms
        and (o.best_val_accuracy > r.best_val_accuracy or o.latency_ms < r.latency_ms) for o in scored)]
    return sorted(front, key=lambda r: (r.latency_ms, -r.best_val_accuracy))


def knee(front: Sequence[TrialRecord]) -> TrialRecord | None:
    """The point of ``front`` nearest (best accuracy, lowest latency) with both axes scaled over the front."""
    if not front:
        return None
    accs = [r.best_val_accuracy for r in front]
    lats = [r.latency_ms for r in front]
    acc_span = (max(accs) - min(accs)) or 1.0
    lat_span = (max(lats) - min(lats)) or 1.0

    def distance(r: TrialRecord) -> float:
        return math.hypot((max(accs) - r.best_val_accuracy) / acc_span, (r.latency_ms - min(lats)) / lat_span)

    return min(front, key=lambda r: (distance(r), -r.best_val_accuracy))


def front_document(front: Sequence[TrialRecord], chosen: TrialRecord | None) -> dict[str, Any]:
    """``pareto_front.json``: every front trial with its scores and configuration, and which is the knee."""
    return {
        "objective": "accuracy,latency",
        "metrics": {"val_accuracy": "max", "latency_ms": "min"},
        "knee_trial": chosen.trial_id if chosen else None,
        "front": [{"trial_id": r.trial_id, "val_accuracy": r.best_val_accuracy, "latency_ms": r.latency_ms,
                   "n_params": r.n_params, "hyperparameters": r.params} for r in front],
    }
