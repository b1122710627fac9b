"""The overnight run in miniature at full size: 200+ trials on a 3-node cluster on this machine, a worker lost midway.

The scenario of ``cluster/overnight.py`` (the CI test runs it with 40 trials): ``make submit``
of ``--trials`` short ASHA trials to a head (0 CPUs) and two one-CPU workers; once a quarter of
them have reported, one worker's processes get SIGKILL and a fresh worker joins 15 s later.
Figures: wall time, trials per hour, worker utilisation, retries, and the driver's resident
memory in the first and last quarter of the trials (it must not grow with their number).

Usage: python benchmarks/bench_overnight.py [--trials 200] [--quick] [--out benchmarks/]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import add_common_args, merge_result  # noqa: E402  (common puts the repository on sys.path)
from cluster.overnight import figures, run_overnight  # noqa: E402

__all__ = ["main"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    parser.add_argument("--trials", type=int, default=200)
    args = parser.parse_args()
    trials = 12 if args.quick else args.trials
    with tempfile.TemporaryDirectory(prefix="bench-overnight-") as work:
        result = run_overnight(Path(work), trials, time_budget="2h", timeout_s=3 * 3600)
        if result.returncode != 0:
            print(result.output[-4000:], file=sys.stderr)
            return 1
        numbers = {**figures(result), "requested_trials": trials, "killed_node": result.killed_node}
    merge_result(args.out, "overnight", numbers)
    print(json.dumps(numbers, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
