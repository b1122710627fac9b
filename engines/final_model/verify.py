"""``verify``: the guide's section 7 (verify): the default and the tuned config on the held-out test split.

Both configs train on the same split over several seeds; every result is printed beside the
majority baseline, chance and the classical baselines of the same split (``verify --folds``
asks the cross-subject question instead: :mod:`engines.final_model.folds`).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from eeg.errors import InputError
from engines.experiment.files import write_json_atomic
from engines.experiment.settings import Settings
from engines.final_model.comparison import (
    baseline_comparison_lines,
    interval_text,
    mean_interval,
    selection_line,
    small_search_line,
    tuned_metadata,
    verdict,
)
from engines.final_model.train import FinalRun, prepare_final_run

__all__ = ["run_verify", "paired_improvement", "improvement_lines", "verify_document", "write_verify_document"]


def paired_improvement(before: list[float], after: list[float]) -> tuple[float, tuple[float, float] | None]:
    """Mean paired difference (after - before) and its 95% t-interval over seeds (None for one seed)."""
    return mean_interval([a - b for a, b in zip(after, before)])


def improvement_lines(default: list[float], tuned: list[float], unit: str) -> list[str]:
    """The guide's ``Before optimization`` / ``After optimization`` lines and the paired improvement with its CI."""
    gain, interval = paired_improvement(default, tuned)
    return [f"Before optimization: {statistics.fmean(default):.1%} accuracy",
            f"After optimization:  {statistics.fmean(tuned):.1%} accuracy",
            f"Improvement: {gain * 100:+.1f} points ({interval_text(interval, len(tuned), unit)}): "
            f"{verdict(interval, 'the default configuration')}"]


def _test_scores(run: FinalRun, settings: Settings, seeds: int, patience: int) -> tuple[dict[str, list[float]], dict]:
    """Each config's test accuracy per seed, and the test split's majority baseline and chance."""
    from eeg.training import evaluate, train_model

    prepared = run.data.prepared
    scores: dict[str, list[float]] = {"default": [], "tuned": []}
    result: dict[str, float] = {}
    for seed in range(settings.seed, settings.seed + seeds):
        for label, hparams in (("default", run.default), ("tuned", run.tuned)):
            model, _ = train_model(hparams, prepared, epochs=run.epochs, seed=seed, early_stopping_patience=patience)
            result = evaluate(model, prepared.X_test, prepared.y_test, prepared.y_train)
            scores[label].append(result["accuracy"])
            print(f"  seed {seed} {label:>7}: test accuracy {result['accuracy']:.1%}", flush=True)
    return scores, {"majority_baseline": result["majority_baseline"], "chance": result["chance"]}


def run_verify(settings: Settings, hparams_file: str | None, *, epochs: int | None, patience: int, seeds: int) -> int:
    """Train the default and the tuned config on the same split over several seeds; compare on test."""
    from eeg.baselines import baselines_line, fit_baselines_on

    if hparams_file is None:
        raise InputError("verify needs --hparams FILE (e.g. models/best_hyperparameters.json)")
    if seeds < 1:
        raise InputError(f"--seeds must be >= 1, got {seeds}")
    run = prepare_final_run(settings, hparams_file, epochs=epochs, patience=patience)
    scores, split_baseline = _test_scores(run, settings, seeds, patience)
    # The classical baselines do not depend on the training seed: fitted once, compared with every seed.
    baselines = fit_baselines_on(run.data.prepared, with_test=True, seed=settings.seed)
    for line in improvement_lines(scores["default"], scores["tuned"], "seeds"):
        print(line)
    print(f"Majority baseline on the same test split: {split_baseline['majority_baseline']:.1%} "
          f"(chance {split_baseline['chance']:.1%})")
    print(baselines_line(baselines) + " (fitted on train, C chosen on validation)")
    for line in baseline_comparison_lines(scores["tuned"], {b.name: [b.test_accuracy] * seeds for b in baselines}, "seeds"):
        print(line)
    metadata = tuned_metadata(hparams_file)
    for line in (selection_line(metadata, statistics.fmean(scores["tuned"]), "test"), small_search_line(metadata)):
        if line:
            print(line)
    document = verify_document(hparams_file, settings, run, scores["default"], scores["tuned"], {
        "test_accuracy_default": scores["default"],
        "test_accuracy_tuned": scores["tuned"],
        **split_baseline,
        "baselines": [b.as_dict() for b in baselines],
    })
    write_verify_document(Path(settings.output_dir), "verify.json", document)
    return 0


def verify_document(hparams_file: str, settings: Settings, run: FinalRun, default: list[float], tuned: list[float],
                    scores: dict[str, Any]) -> dict[str, Any]:
    """What ``verify`` (and ``verify --folds``) records: its ``scores``, the paired improvement of ``tuned`` over
    ``default`` with its CI, the tuned file's validation score, and what was measured on."""
    metadata = tuned_metadata(hparams_file)
    gain, interval = paired_improvement(default, tuned)
    return {
        "hparams_file": hparams_file,
        **scores,
        "improvement_points": gain * 100,
        "ci95_points": [v * 100 for v in interval] if interval else None,
        "best_val_accuracy": metadata.get("best_score"),
        "experiment": metadata.get("experiment"),
        "split": settings.split,
        "epochs": run.epochs,
        "data": run.data.description,
    }


def write_verify_document(output_dir: Path, filename: str, document: dict[str, Any]) -> None:
    """``<output-dir>/<filename>``, and a copy in the tuned file's experiment folder when it is here (for ``report``)."""
    write_json_atomic(output_dir / filename, document)
    experiment = document.get("experiment")
    if experiment and Path(experiment).is_dir():
        write_json_atomic(Path(experiment) / filename, document)
