"""Selection on one validation split against selection on ``--cv K`` grouped folds: optimism and test accuracy.

For each split (trial, subject) and seed, two tuning runs with the same budget and the default
pairing (Optuna TPE + ASHA) through the real CLI: one scored on the single validation split,
one with ``--cv K``. The selected config of each is then trained as ``train``/``verify`` do
(train side, early stopping on the validation side) and scored on the held-out test split.
Optimism = the score it was selected with minus that test accuracy.

Usage: python benchmarks/bench_selection.py [--trials 30] [--seeds 3] [--epochs 12] [--folds 4] [--splits trial,subject]
    [--work DIR]
The issue's size is the default; ``--quick`` is a CI-sized check of the script only. With ``--work DIR`` each
finished run is appended to ``DIR/runs.jsonl`` and a rerun with the same DIR and sizes skips it (hours on 2 CPUs).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, add_common_args, append_jsonl_row, dataset_npz, merge_result, read_jsonl_rows, run_cli  # noqa: E402

__all__ = ["main", "test_accuracy_of"]


def test_accuracy_of(hparams: dict[str, Any], data_file: Path, split: str, *, epochs: int, seed: int) -> float:
    """The selected config trained on the split's train side (early stopping on val, as ``train``) scored on test."""
    from eeg.training import evaluate, train_model
    from engines.experiment.data import prepare_experiment_data
    from engines.experiment.settings import load_settings

    settings = load_settings({"data": str(data_file), "dataset": "table", "split": split})
    prepared = prepare_experiment_data(settings).prepared
    model, _ = train_model(hparams, prepared, epochs=epochs, seed=seed, early_stopping_patience=6)
    return evaluate(model, prepared.X_test, prepared.y_test, prepared.y_train)["accuracy"]


def one_run(work: Path, data_file: Path, split: str, seed: int, folds: int | None, args: argparse.Namespace) -> dict:
    name = f"{split}-s{seed}-{'cv' if folds else 'single'}"
    flags = ["--data", str(data_file), "--dataset", "table", "--split", split, "--seed", str(seed),
             "--max-trials", str(args.trials), "--max-epochs", str(args.epochs), "--output-dir", str(work / name),
             "--name", name, "--verbose", "0", *(["--cv", str(folds)] if folds else [])]
    # Ray's workers import the project from this checkout, not from wherever the package is installed.
    wall_s = run_cli(flags, work / f"{name}.log", env={"PYTHONPATH": str(REPO)})
    best = json.loads((work / name / "best_hyperparameters.json").read_text())
    selected = best["metadata"]["best_score"]
    test = test_accuracy_of(best["hyperparameters"], data_file, split, epochs=args.epochs, seed=seed)
    row = {"split": split, "seed": seed, "cv": folds, "selection_score": selected, "test": round(test, 4),
           "optimism": round(selected - test, 4), "cv_std": best["metadata"].get("cv_std"),
           "wall_s": round(wall_s, 1), "trials_per_hour": round(args.trials / wall_s * 3600, 1)}
    print(json.dumps(row), flush=True)
    return row


def summarise(rows: list[dict], args: argparse.Namespace) -> dict[str, Any]:
    """Means over the seeds run so far, per split and mode, under the results.json key ``selection``."""
    figures: dict[str, Any] = {"size": {"trials": args.trials, "seeds_done": len({r["seed"] for r in rows}),
                                        "max_epochs": args.epochs, "folds": args.folds, "pairing": "optuna + asha"},
                               "runs": rows}
    for split in sorted({r["split"] for r in rows}):
        for mode, folds in (("single", None), ("cv", args.folds)):
            mine = [r for r in rows if r["split"] == split and r["cv"] == folds]
            if mine:
                figures.setdefault(split, {}).update({
                    f"optimism_{mode}": round(statistics.mean(r["optimism"] for r in mine), 4),
                    f"test_{mode}": round(statistics.mean(r["test"] for r in mine), 4),
                    f"trials_per_hour_{mode}": round(statistics.mean(r["trials_per_hour"] for r in mine), 1)})
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=12, help="--max-epochs of each tuning run")
    parser.add_argument("--folds", type=int, default=4, help="K of --cv K")
    parser.add_argument("--splits", default="subject,trial")
    parser.add_argument("--work", help="keep the runs here and skip those already in DIR/runs.jsonl (resumable)")
    add_common_args(parser)
    args = parser.parse_args()
    if args.quick:
        args.trials, args.seeds, args.epochs = 2, 1, 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench_selection_"))
    work.mkdir(parents=True, exist_ok=True)
    data_file = dataset_npz(work, smoke=False)  # the default synthetic data, built once (kept in --work)
    done_file = work / "runs.jsonl"
    size = (args.trials, args.epochs, args.folds)
    rows = [row for row in read_jsonl_rows(done_file) if tuple(row.get("size", ())) == size]
    for seed in range(args.seeds):  # seed-major: an interrupted run still leaves whole seeds in results.json
        for split in args.splits.split(","):
            for folds in (None, args.folds):
                if any(r["split"] == split and r["seed"] == seed and r["cv"] == folds for r in rows):
                    continue
                row = {**one_run(work, data_file, split, seed, folds, args), "size": list(size)}
                rows.append(row)
                append_jsonl_row(done_file, row)
            figures = summarise(rows, args)
            path = merge_result(args.out, "selection", figures)
    print(json.dumps({k: v for k, v in figures.items() if k != "runs"}, indent=2))
    print(f"wrote selection into {path}; runs kept in {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
