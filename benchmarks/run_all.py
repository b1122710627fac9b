"""Run every benchmark behind BENCHMARKS.md and leave the raw figures in benchmarks/results/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    commands = [
        [sys.executable, str(HERE / "bench_actor_reuse.py"), "--trials", "8", "--repeats", "2",
         "--json", str(results / "actor_reuse.json")],
    ]
    for command in commands:
        print("$", " ".join(command), flush=True)
        if subprocess.call(command, cwd=HERE.parent) != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
