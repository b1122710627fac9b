"""A reused actor waits for the last trial's thread instead of failing the next trial.

With ``reuse_actors`` Ray resets an actor for the next trial by ending the last trial's training
thread and waiting ``TUNE_FUNCTION_THREAD_TIMEOUT_S`` (2 s by default) for it; a thread still alive
then fails the *next* trial ("Could not re-use actor ... reset_config() ... return True"), which is
never retried. On a loaded 2-core machine that wait ran out after trials the scheduler stopped:
5 of 40 trials lost in one Optuna + HyperBand run (``benchmarks/bench_search_real.py``, 2026-12-06),
1 of 5 in the quick test while other tests shared the cores. Waiting longer costs nothing when the
thread ends at once and keeps every trial when it does not.
"""

from __future__ import annotations

import os

__all__ = ["REUSE_WAIT_S", "allow_reuse_after_slow_stops"]

REUSE_WAIT_S = 600  # seconds a reused actor may wait for the last trial's thread


def allow_reuse_after_slow_stops() -> None:
    """Set the wait in this actor's process (Ray reads it at each reuse); a value the user set is kept."""
    os.environ.setdefault("TUNE_FUNCTION_THREAD_TIMEOUT_S", str(REUSE_WAIT_S))
