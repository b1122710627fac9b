"""Walking one run from the CLI to its outputs enters each engines module once on the way down.

A profiler hook looks at the call stack each time an ``engines`` function is called and
checks that no engines module appears twice on it with another engines module between
(``single_machine -> ray_experiment -> single_machine`` was the old shape).
"""

from __future__ import annotations

import sys

import pytest

import tune_cluster

pytestmark = pytest.mark.slow


def _engines_modules_on(frame) -> list[str]:
    names = []
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith("engines.") and (not names or names[-1] != name):
            names.append(name)
        frame = frame.f_back
    return names


def _trace(argv: list[str]) -> tuple[int, list[list[str]]]:
    bouncing: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()

    def profile(frame, event, arg):
        if event != "call" or not frame.f_globals.get("__name__", "").startswith("engines."):
            return
        stack = _engines_modules_on(frame)
        key = tuple(stack)
        if key not in seen:
            seen.add(key)
            if len(set(stack)) != len(stack):
                bouncing.append(list(reversed(stack)))

    sys.setprofile(profile)
    try:
        code = tune_cluster.main(argv)
    finally:
        sys.setprofile(None)
    return code, bouncing


@pytest.mark.parametrize("method", ["optuna", "ray"])
def test_one_run_enters_each_engines_module_once_on_the_way_down(tmp_path, method, local_ray):
    code, bouncing = _trace(["--use-dummy-data", "--smoke-test", "--max-trials", "1", "--method", method,
                             "--verbose", "0", "--output-dir", str(tmp_path), "--name", "walk"])
    assert code == 0
    assert not bouncing, "\n".join(" -> ".join(stack) for stack in bouncing)
    assert (tmp_path / "best_hyperparameters.json").is_file()
