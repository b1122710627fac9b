#!/usr/bin/env python3
"""Fetch an experiment from its cloud storage: what ``make results`` runs for ``s3://``/``gs://``.

Usage: ``python cluster/fetch_results.py STORAGE NAME RESULTS_DIR``. Ray's experiment
(``STORAGE/NAME``: trial folders, checkpoints, state) goes to ``RESULTS_DIR/tuning/NAME/ray_results``;
the CLI's outputs the run copied to ``STORAGE/NAME/eeg_outputs`` (``best_hyperparameters.json``,
``tuning/NAME/``) go to ``RESULTS_DIR`` itself. No head is needed: it works after ``ray down``.
It reads through ``pyarrow.fs`` (as Ray does), so a URI with ``?endpoint_override=...`` and the
usual cloud credentials work as they do for the run.

Exit codes: 0 fetched; 2 the storage cannot be reached or holds no experiment NAME (one line on stderr).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3:
        print("usage: fetch_results.py STORAGE NAME RESULTS_DIR", file=sys.stderr)
        return 2
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from eeg.errors import InputError
    from engines.experiment.storage import fetch_experiment

    storage, name, results_dir = args
    try:
        written = fetch_experiment(storage, name, Path(results_dir))
    except InputError as error:
        print(f"error: results: {error}", file=sys.stderr, flush=True)
        return 2
    print(f"fetched {len(written)} files of '{name}' into {results_dir} "
          f"(Ray's experiment in {Path(results_dir) / 'tuning' / name / 'ray_results'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
