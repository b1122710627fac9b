"""``verify --folds K``: default vs tuned over subject-grouped folds, the cross-subject question.

The held-out test split answers "how good on the recordings tuning never saw"; with the
trial split those are new clips of people the model trained on. Folds answer "how good on
new people": the data outside the test split is dealt by subject into K folds (or one per
subject, ``--folds loso``); each fold trains on the others, stops early on the next one and
is scored on its own subjects. The test split is never read, so ``verify`` on it stays honest.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from eeg.errors import InputError
from engines.experiment.settings import Settings

__all__ = ["parse_folds", "run_verify_folds"]


def parse_folds(text: str | int) -> int | None:
    """``"5"`` -> 5, ``"loso"`` -> None (leave-one-subject-out); anything else is refused."""
    value = str(text).strip().lower()
    if value in ("loso", "leave-one-subject-out"):
        return None
    if not value.isdigit() or int(value) < 3:
        raise InputError(f"--folds must be a whole number >= 3 or 'loso' (leave one subject out), got {text!r}")
    return int(value)


def _mean_line(label: str, values: list[float]) -> str:
    from engines.final_model.comparison import mean_interval

    mean, interval = mean_interval(values)
    spread = f" (95% CI {interval[0]:.1%} to {interval[1]:.1%})" if interval else ""
    return f"  {label}: {mean:.1%}{spread}"


def run_verify_folds(settings: Settings, hparams_file: str | None, *, folds: str, epochs: int | None, patience: int) -> int:
    """Train default and tuned on every fold (one seed each), score them and the baselines on the fold's subjects.

    Args:
        settings: the command's settings (data, split, split seed, seed, output dir).
        hparams_file: the tuned best_hyperparameters.json; its split must be this run's.
        folds: ``--folds``: a number K >= 3 or ``loso``.
        epochs, patience: as for ``verify``.
    """
    from engines.final_model.comparison import baseline_comparison_lines, interval_text, selection_line, tuned_metadata
    from engines.experiment.data import prepare_experiment_data
    from engines.final_model.train import (
        check_same_split,
        final_epochs,
        paired_improvement,
        read_hparams_file,
        write_verify_document,
    )
    from eeg.baselines import fit_baselines_on
    from eeg.model import DEFAULT_HPARAMS, resolve_hparams
    from eeg.splits import majority_baseline, subject_folds
    from eeg.training import evaluate, import_tensorflow_quietly, prepare_data, train_model

    import numpy as np

    if hparams_file is None:
        raise InputError("verify needs --hparams FILE (e.g. models/best_hyperparameters.json)")
    n_folds = parse_folds(folds)
    epochs = final_epochs(settings, epochs, patience)
    tuned = resolve_hparams(read_hparams_file(hparams_file))
    default = resolve_hparams(DEFAULT_HPARAMS)
    data = prepare_experiment_data(settings)
    import_tensorflow_quietly()
    check_same_split(hparams_file, settings, data.description)
    folds = subject_folds(data.dataset, n_folds, exclude=data.split.test, seed=settings.split_seed)
    subject = np.asarray(data.dataset.subject)
    n_samples = sum(len(f.test) for f in folds)
    print(f"{len(folds)} subject folds of the {n_samples} samples outside the {settings.split} split's test side "
          f"(which stays unread); each fold trains on the others, stops early on the next, scores its own subjects")
    if settings.split == "trial":
        print("note: these recordings include the validation split tuning selected on; the folds hold out people, "
              "not configs")
    per_fold: list[dict[str, Any]] = []
    for fold in folds:
        prepared = prepare_data(data.dataset, fold)
        row: dict[str, Any] = {"fold": fold.strategy, "subjects": sorted(int(s) for s in np.unique(subject[fold.test]))}
        for label, hparams in (("default", default), ("tuned", tuned)):
            model, _ = train_model(hparams, prepared, epochs=epochs, seed=settings.seed, early_stopping_patience=patience)
            row[label] = evaluate(model, prepared.X_test, prepared.y_test, prepared.y_train)["accuracy"]
        row["baselines"] = {b.name: b.test_accuracy for b in fit_baselines_on(prepared, with_test=True, seed=settings.seed)}
        row["majority_baseline"] = majority_baseline(prepared.y_train, prepared.y_test)
        row["chance"] = 1.0 / prepared.n_classes
        per_fold.append(row)
        others = "  ".join(f"{name} {acc:.1%}" for name, acc in row["baselines"].items())
        print(f"  {fold.strategy} (subjects {', '.join(map(str, row['subjects']))}): default {row['default']:.1%}  "
              f"tuned {row['tuned']:.1%}  {others}  majority {row['majority_baseline']:.1%}", flush=True)
    default_scores = [r["default"] for r in per_fold]
    tuned_scores = [r["tuned"] for r in per_fold]
    names = list(per_fold[0]["baselines"])
    baselines = {name: [r["baselines"][name] for r in per_fold] for name in names}
    gain, interval = paired_improvement(default_scores, tuned_scores)
    print(f"Cross-subject, mean over {len(folds)} folds (95% CI over folds):")
    for label, values in (("default", default_scores), ("tuned", tuned_scores), *baselines.items(),
                          ("majority baseline", [r["majority_baseline"] for r in per_fold])):
        print(_mean_line(label, values))
    print(f"Before optimization: {statistics.fmean(default_scores):.1%} accuracy")
    print(f"After optimization:  {statistics.fmean(tuned_scores):.1%} accuracy")
    print(f"Improvement: {gain * 100:+.1f} points ({interval_text(interval, len(folds), 'folds')})")
    print(f"Chance: {per_fold[0]['chance']:.1%}")
    for line in baseline_comparison_lines(tuned_scores, baselines, "folds"):
        print(line)
    metadata = tuned_metadata(hparams_file)
    selection = selection_line(metadata, statistics.fmean(tuned_scores), "cross-subject")
    if selection:
        print(selection)
    write_verify_document(
        Path(settings.output_dir),
        "verify_folds.json",
        {
            "hparams_file": hparams_file,
            "folds": per_fold,
            "accuracy_default": default_scores,
            "accuracy_tuned": tuned_scores,
            "improvement_points": gain * 100,
            "ci95_points": [v * 100 for v in interval] if interval else None,
            "baselines": baselines,
            "best_val_accuracy": metadata.get("best_score"),
            "experiment": metadata.get("experiment"),
            "split": settings.split,
            "epochs": epochs,
            "data": data.description,
        },
    )
    return 0
