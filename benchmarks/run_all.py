"""Run every benchmark behind BENCHMARKS.md, one script after another, each merging its key into results.json.

``make bench`` runs the full sizes into ``benchmarks/`` (``results.json``, ``plots/``, about an hour
on 2 CPUs); ``make bench-quick`` (``--quick``) runs the same scripts with small numbers into
``benchmarks/quick/`` in a few minutes, so CI notices when a script stops working.

Usage: python benchmarks/run_all.py [--quick] [--only search_efficiency,overhead,...] [--out DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import merge_result  # noqa: E402

__all__ = ["BENCHMARKS", "main"]

# results.json key -> the script and its arguments (``--quick`` and ``--out`` are added to each).
BENCHMARKS: dict[str, list[str]] = {
    "overhead": ["bench_actor_reuse.py", "--trials", "8", "--repeats", "1"],
    "throughput": ["bench_throughput.py"],
    "scheduling": ["bench_scale.py", "scheduling"],
    "scale": ["bench_scale.py", "scale"],
    "memory": ["bench_memory.py"],
    "optuna_parallel": ["bench_optuna_parallel.py"],
    "search_efficiency": ["bench_search_efficiency.py"],
    "pipeline": ["bench_pipeline.py"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small numbers (CI): minutes instead of an hour")
    parser.add_argument("--only", help="comma-separated results.json keys to run (default: all)")
    parser.add_argument("--out", help="folder for results.json and plots/ (default: benchmarks/, quick: benchmarks/quick/)")
    args = parser.parse_args()
    out = Path(args.out or (HERE / "quick" if args.quick else HERE))
    out.mkdir(parents=True, exist_ok=True)
    keys = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [k for k in keys if k not in BENCHMARKS]
    if unknown:
        print(f"error: --only: unknown benchmark {unknown[0]!r} (known: {', '.join(BENCHMARKS)})", file=sys.stderr)
        return 2
    # No GPU machine on the machine that runs this: the GPU figures stay null, said so in BENCHMARKS.md.
    merge_result(out, "gpu", None, command=["(no GPU on this machine: not measured)"])
    for key in keys:
        script, *rest = BENCHMARKS[key]
        command = [sys.executable, str(HERE / script), *rest, "--out", str(out), *(["--quick"] if args.quick else [])]
        print(f"$ {' '.join(command)}", flush=True)
        started = time.perf_counter()
        if subprocess.call(command, cwd=HERE.parent) != 0:
            print(f"benchmark {key!r} failed", file=sys.stderr)
            return 1
        print(f"[{key}: {time.perf_counter() - started:.0f} s]", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
