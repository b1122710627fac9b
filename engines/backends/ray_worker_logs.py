"""What Ray's workers print, as the driver's console shows it below ``--verbose 2``.

Ray forwards each worker's stdout and stderr to the driver, prefixed ``(train_cnn_lstm pid=N)``. Two things in
that stream are not for a user. One is the prefix's colour codes when the console is a file (the log of an
overnight run): ``RAY_COLOR_PREFIX=0``, Ray's own switch, turns them off there. The other is the traceback a
worker prints when Ray terminates it: Ray's SIGTERM handler raises ``SystemExit`` in whatever frame is running,
often a weakref callback, and Python reports it as "Exception ignored in ... SystemExit: 1". Those blocks are
dropped; everything else a worker prints (its own errors included) comes through as Ray prints it.
"""

from __future__ import annotations

import os
import sys

__all__ = ["TerminationTracebacks", "filter_termination_tracebacks", "uncoloured_prefix_in_files"]

_RAY_HANDLER = "ray_print_logs"  # the name Ray registers its printer under, and removes at ray.shutdown()
_TERMINATION = ("in sigterm_handler", "The process receives a SIGTERM")


class TerminationTracebacks:
    """Drops, per worker, the traceback blocks that Ray's SIGTERM handler caused; keeps every other line.

    A block runs from "Exception ignored in" or "Traceback (most recent call last):" to its exception line (the
    first unindented line after it). Ray hands lines over in batches, so a block may span several: it is held
    until it ends, then dropped or passed on whole.
    """

    def __init__(self) -> None:
        self._open: dict[str, list[str]] = {}

    def feed(self, worker: str, lines: list[str]) -> list[str]:
        kept: list[str] = []
        block = self._open.pop(worker, None)
        for line in lines:
            if block is None:
                if _starts_block(line):
                    block = [line]
                else:
                    kept.append(line)
                continue
            block.append(line)
            if line.strip() and not line[:1].isspace() and not _starts_block(line):
                if not any(marker in held for held in block for marker in _TERMINATION):
                    kept.extend(block)
                block = None
        if block is not None:
            self._open[worker] = block
        return kept


def _starts_block(line: str) -> bool:
    return line.startswith(("Exception ignored in", "Traceback (most recent call last)"))


def uncoloured_prefix_in_files() -> None:
    """No colour codes in a console that is not a terminal (a user's explicit setting wins)."""
    if not sys.stdout.isatty():
        os.environ.setdefault("RAY_COLOR_PREFIX", "0")


def filter_termination_tracebacks() -> None:
    """Put the filter in front of the printer Ray registered for this driver (none when log_to_driver is off).

    Ray offers no public hook for forwarded worker output; its dispatcher is internal, so a Ray without it
    keeps printing everything rather than failing the run.
    """
    try:
        from ray._private import worker as ray_worker
        from ray._private.ray_logging import global_worker_stdstream_dispatcher as dispatcher
    except ImportError:
        return
    if not any(name == _RAY_HANDLER for name, _ in dispatcher.handlers):
        return
    tracebacks = TerminationTracebacks()
    ignore_prefix = ray_worker._should_ignore_worker_log_prefix(ray_worker.global_worker)

    def print_filtered(data: dict) -> None:
        lines = tracebacks.feed(str(data.get("pid")), list(data.get("lines", [])))
        if lines:
            ray_worker.print_to_stdstream({**data, "lines": lines}, ignore_prefix=ignore_prefix)

    dispatcher.remove_handler(_RAY_HANDLER)
    dispatcher.add_handler(_RAY_HANDLER, print_filtered)
