"""Worker output on the driver's console (``engines.backends.ray_worker_logs``): no termination tracebacks, no colour
codes in a file, everything else a worker prints kept."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engines.backends.ray_worker_logs import TerminationTracebacks

ROOT = Path(__file__).resolve().parents[3]

# What a CI run printed when Ray terminated a trial's worker (stop 25's failing run), as Ray hands it over.
TERMINATION = [
    "Exception ignored in: <function WeakSet.__init__.<locals>._remove at 0x7f7f523b2840>",
    "Traceback (most recent call last):",
    '  File "/usr/lib/python3.11/_weakrefset.py", line 39, in _remove',
    "    def _remove(item, selfref=ref(self)):",
    "",
    '  File "/venv/lib/python3.11/site-packages/ray/_private/worker.py", line 1063, in sigterm_handler',
    "    raise_sys_exit_with_custom_error_message(",
    '  File "python/ray/_raylet.pyx", line 712, in ray._raylet.raise_sys_exit_with_custom_error_message',
    "SystemExit: 1",
]
OWN_ERROR = [
    "Traceback (most recent call last):",
    '  File "trainables/cnn_lstm.py", line 10, in train',
    "    raise ValueError('bad shape')",
    "ValueError: bad shape",
]


def test_a_termination_traceback_is_dropped_even_when_it_spans_batches():
    tracebacks = TerminationTracebacks()
    assert tracebacks.feed("7", ["epoch 1 done", *TERMINATION[:3]]) == ["epoch 1 done"]
    assert tracebacks.feed("8", ["another worker"]) == ["another worker"]
    assert tracebacks.feed("7", [*TERMINATION[3:], "after it"]) == ["after it"]


def test_a_workers_own_traceback_comes_through_whole_and_in_order():
    tracebacks = TerminationTracebacks()
    assert tracebacks.feed("7", ["before", *OWN_ERROR[:2]]) == ["before"]
    assert tracebacks.feed("7", OWN_ERROR[2:] + ["after"]) == [*OWN_ERROR, "after"]


_DRIVER = textwrap.dedent("""
    import os, signal, sys, time
    import ray
    from engines.backends.ray_worker_logs import filter_termination_tracebacks, uncoloured_prefix_in_files

    if sys.argv[1] == "filtered":
        uncoloured_prefix_in_files()
    ray.init(num_cpus=1, include_dashboard=False, _node_ip_address="127.0.0.1")
    if sys.argv[1] == "filtered":
        filter_termination_tracebacks()

    class Slow:
        def __del__(self):  # the SIGTERM lands here, where Python can only report the SystemExit
            time.sleep(30)

    @ray.remote
    class Worker:
        def pid(self):
            print("worker says hello", flush=True)
            return os.getpid()
        def finalize(self):
            Slow()

    worker = Worker.remote()
    pid = ray.get(worker.pid.remote())
    worker.finalize.remote()
    time.sleep(3)
    os.kill(pid, signal.SIGTERM)  # what Ray's raylet sends a worker it terminates
    time.sleep(5)
    ray.shutdown()
""")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["raw", "filtered"])
def test_a_sigterm_to_a_real_worker_leaves_no_traceback_or_colour_in_a_redirected_console(mode, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RAY_COLOR_PREFIX", None)
    run = subprocess.run([sys.executable, "-c", _DRIVER, mode], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=180)
    console = run.stdout
    assert "worker says hello" in console, console
    if mode == "raw":  # Ray alone prints both: the fault is real, and the filtered run shows the filter's work
        assert "sigterm_handler" in console and "\x1b" in console, console
    else:
        assert "sigterm_handler" not in console and "SystemExit" not in console and "\x1b" not in console, console
