"""Does tuning the whole pipeline beat the best fixed classical baseline? (issue 16's benchmark)

For each split (trial, subject) and seed (0, 1, 2; the seed is both the split seed and the search seed), the
user's commands through the real CLI on the default synthetic data:

1. ``tune --space pipeline --max-trials 60`` (Optuna TPE + ASHA), then ``verify --hparams`` of its pick: the tuned
   pipeline's test accuracy, the fixed baselines on the seed's features, and per test recording (trial split) or
   test subject (subject split) the paired difference to the best baseline on test (the harder comparison).
2. ``tune --max-trials 60`` of the network-only space with the same searcher, scheduler and epochs, then
   ``verify``: the network-only pick's test accuracy. Equal trials and epochs; the classical trials of the
   pipeline search are far cheaper, so the wall times are reported beside.

Keys (fractions): ``pipeline.<split>.tuned_test`` and ``.best_baseline_test`` (means over seeds), ``.ci_low``
(the low end of the bootstrap 95% interval of tuned pipeline - best baseline, units pooled over the seeds),
``.network_tuned_test``; ``pipeline.feature_cache_speedup`` (features computed / read from the node's cache, the
default configuration on the default data, median of 5 each, side by side).

Resumable: each finished (split, seed, search) is one line of ``<work>/runs.jsonl``; a rerun skips it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_common_args, append_jsonl_row, merge_result, read_jsonl_rows, run_cli  # noqa: E402

SPLITS = ("trial", "subject")


def _search(split: str, seed: int, search: str, work: Path, args: argparse.Namespace) -> dict:
    out = work / split / str(seed) / search
    out.mkdir(parents=True, exist_ok=True)
    common = ["--use-dummy-data", *(["--smoke-test"] if args.quick else []), "--split", split, "--split-seed",
              str(seed), "--seed", str(seed), "--output-dir", str(out)]
    space = ["--space", "pipeline", "--feature-cache", str(work / "cache")] if search == "pipeline" else []
    tune_s = run_cli(["tune", *common, *space, "--max-trials", str(args.trials), "--max-epochs", str(args.epochs),
                      "--searcher", "optuna", "--scheduler", "asha", "--name", "bench", "--verbose", "0"],
                     out / "tune.log")
    verify_s = run_cli(["verify", *common, *(space[2:] if space else []), "--hparams",
                        str(out / "best_hyperparameters.json"), "--seeds", "1", "--epochs", str(args.final_epochs)],
                       out / "verify.log")
    verify = json.loads((out / "verify.json").read_text())
    best = json.loads((out / "best_hyperparameters.json").read_text())
    row = {"split": split, "seed": seed, "search": search, "tune_s": tune_s, "verify_s": verify_s,
           "tuned_test": verify["test_accuracy_tuned"][0], "default_test": verify["test_accuracy_default"][0],
           "best_val": best["metadata"]["best_score"], "hyperparameters": best["hyperparameters"],
           "baselines_test": {b["name"]: b["test_accuracy"] for b in verify["baselines"]}}
    if search == "pipeline":
        row["versus"] = verify["pipeline_vs_best_baseline"]
    return row


def feature_cache_speedup(work: Path, repeats: int = 5) -> dict:
    """Features of the default configuration on the default data: computed vs read back, side by side."""
    import shutil

    from eeg.feature_cache import cached_features, recordings_fingerprint
    from eeg.pipeline import Preprocessing
    from eeg.synthetic import generate_raw

    raw = generate_raw()
    fingerprint = recordings_fingerprint(raw)
    folder = work / "speedup_cache"
    computed, read = [], []
    for _ in range(repeats):
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        _, hit = cached_features(raw, Preprocessing(), cache_dir=folder, fingerprint=fingerprint)
        computed.append(time.perf_counter() - started)
        assert not hit
        started = time.perf_counter()
        _, hit = cached_features(raw, Preprocessing(), cache_dir=folder, fingerprint=fingerprint)
        read.append(time.perf_counter() - started)
        assert hit
    shutil.rmtree(folder, ignore_errors=True)
    return {"computed_s": statistics.median(computed), "read_s": statistics.median(read),
            "speedup": statistics.median(computed) / statistics.median(read), "repeats": repeats}


def summarise(rows: list[dict], seeds: list[int]) -> dict:
    from engines.final_model.pipeline_final import paired_unit_interval

    figures: dict = {}
    for split in SPLITS:
        mine = {(r["seed"], r["search"]): r for r in rows if r["split"] == split}
        done = [s for s in seeds if (s, "pipeline") in mine and (s, "network") in mine]
        if not done:
            continue
        pipeline = [mine[s, "pipeline"] for s in done]
        tuned = {f"{r['seed']}/{u}": v for r in pipeline for u, v in r["versus"]["tuned_by_unit"].items()}
        base = {f"{r['seed']}/{u}": v for r in pipeline for u, v in r["versus"]["baseline_by_unit"].items()}
        gain, interval, n_units = paired_unit_interval(tuned, base)
        figures[split] = {
            "tuned_test": statistics.fmean(r["tuned_test"] for r in pipeline),
            "best_baseline_test": statistics.fmean(r["versus"]["baseline_test_accuracy"] for r in pipeline),
            "ci_low": interval[0] if interval else None,
            "ci_high": interval[1] if interval else None,
            "paired_gain": gain,
            "units": n_units,
            "unit": pipeline[0]["versus"]["unit"],
            "network_tuned_test": statistics.fmean(mine[s, "network"]["tuned_test"] for s in done),
            "default_test": statistics.fmean(r["default_test"] for r in pipeline),
            "pipeline_tune_s": statistics.fmean(r["tune_s"] for r in pipeline),
            "network_tune_s": statistics.fmean(mine[s, "network"]["tune_s"] for s in done),
            "seeds": done,
            "picked_families": [r["hyperparameters"].get("model_family") for r in pipeline],
            "per_seed": [{"seed": s, "pipeline_test": mine[s, "pipeline"]["tuned_test"],
                          "network_test": mine[s, "network"]["tuned_test"],
                          "best_baseline_test": mine[s, "pipeline"]["versus"]["baseline_test_accuracy"],
                          "pipeline_best_val": mine[s, "pipeline"]["best_val"],
                          "pipeline_pick": mine[s, "pipeline"]["hyperparameters"]} for s in done],
        }
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    parser.add_argument("--work", help="folder of the runs, resumable (default: benchmarks/results/pipeline; "
                                       "--quick: <out>/pipeline_runs)")
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=12, help="--max-epochs of each search")
    parser.add_argument("--final-epochs", type=int, default=40, help="verify's --epochs (early stopping on val)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--splits", default=",".join(SPLITS))
    args = parser.parse_args()
    if args.quick:  # every step once on the smoke data: CI checks that the script runs, not the figures
        args.trials, args.epochs, args.final_epochs, args.seeds, args.splits = 3, 2, 2, 1, "trial"
    work = Path(args.work or (Path(args.out) / "pipeline_runs" if args.quick
                              else Path(__file__).resolve().parent / "results" / "pipeline"))
    work.mkdir(parents=True, exist_ok=True)
    runs = work / "runs.jsonl"
    seeds = list(range(args.seeds))
    figures: dict = {"feature_cache_speedup": None}
    speed = feature_cache_speedup(work, repeats=1 if args.quick else 5)
    figures["feature_cache"] = speed
    figures["feature_cache_speedup"] = speed["speedup"]
    print(f"feature cache: computed {speed['computed_s']:.2f} s, read {speed['read_s']:.3f} s "
          f"({speed['speedup']:.0f}x)", flush=True)
    for split in args.splits.split(","):
        for seed in seeds:
            for search in ("pipeline", "network"):
                done = {(r["split"], r["seed"], r["search"]) for r in read_jsonl_rows(runs)}
                if (split, seed, search) in done:
                    continue
                row = _search(split, seed, search, work, args)
                append_jsonl_row(runs, row)
                print(f"{split} seed {seed} {search}: test {row['tuned_test']:.1%} (tune {row['tune_s']:.0f} s)",
                      flush=True)
                figures.update(summarise(read_jsonl_rows(runs), seeds))
                merge_result(args.out, "pipeline", {**figures, "trials": args.trials, "max_epochs": args.epochs})
    figures.update(summarise(read_jsonl_rows(runs), seeds))
    merge_result(args.out, "pipeline", {**figures, "trials": args.trials, "max_epochs": args.epochs})
    print(json.dumps({k: v for k, v in figures.items() if k in SPLITS}, indent=1, default=str)[:3000])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
