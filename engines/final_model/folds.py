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
from engines.final_model.comparison import baseline_comparison_lines, mean_interval, selection_line, tuned_metadata
from engines.final_model.train import FinalRun, prepare_final_run
from engines.final_model.verify import improvement_lines, verify_document, write_verify_document

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
    mean, interval = mean_interval(values)
    spread = f" (95% CI {interval[0]:.1%} to {interval[1]:.1%})" if interval else ""
    return f"  {label}: {mean:.1%}{spread}"


def _fold_row(fold: Any, run: FinalRun, settings: Settings, subject: Any, patience: int) -> dict[str, Any]:
    """Default and tuned trained on the other folds, scored with the baselines on this fold's subjects."""
    import numpy as np

    from eeg.baselines import fit_baselines_on
    from eeg.splits import majority_baseline
    from eeg.training import evaluate, prepare_data, train_model

    prepared = prepare_data(run.data.dataset, fold)
    row: dict[str, Any] = {"fold": fold.strategy, "subjects": sorted(int(s) for s in np.unique(subject[fold.test]))}
    for label, hparams in (("default", run.default), ("tuned", run.tuned)):
        model, _ = train_model(hparams, prepared, epochs=run.epochs, seed=settings.seed, early_stopping_patience=patience)
        row[label] = evaluate(model, prepared.X_test, prepared.y_test, prepared.y_train)["accuracy"]
    row["baselines"] = {b.name: b.test_accuracy for b in fit_baselines_on(prepared, with_test=True, seed=settings.seed)}
    row["majority_baseline"] = majority_baseline(prepared.y_train, prepared.y_test)
    row["chance"] = 1.0 / prepared.n_classes
    others = "  ".join(f"{name} {acc:.1%}" for name, acc in row["baselines"].items())
    print(f"  {fold.strategy} (subjects {', '.join(map(str, row['subjects']))}): default {row['default']:.1%}  "
          f"tuned {row['tuned']:.1%}  {others}  majority {row['majority_baseline']:.1%}", flush=True)
    return row


def _print_across_folds(per_fold: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Each model's mean over the folds with its CI, then the comparisons; returns each baseline's scores."""
    default = [r["default"] for r in per_fold]
    tuned = [r["tuned"] for r in per_fold]
    baselines = {name: [r["baselines"][name] for r in per_fold] for name in per_fold[0]["baselines"]}
    print(f"Cross-subject, mean over {len(per_fold)} folds (95% CI over folds):")
    for label, values in (("default", default), ("tuned", tuned), *baselines.items(),
                          ("majority baseline", [r["majority_baseline"] for r in per_fold])):
        print(_mean_line(label, values))
    for line in improvement_lines(default, tuned, "folds"):
        print(line)
    print(f"Chance: {per_fold[0]['chance']:.1%}")
    for line in baseline_comparison_lines(tuned, baselines, "folds"):
        print(line)
    return baselines


def run_verify_folds(settings: Settings, hparams_file: str | None, *, folds: str, epochs: int | None, patience: int) -> int:
    """Train default and tuned on every fold (one seed each), score them and the baselines on the fold's subjects.

    Args:
        settings: the command's settings (data, split, split seed, seed, output dir).
        hparams_file: the tuned best_hyperparameters.json; its split must be this run's.
        folds: ``--folds``: a number K >= 3 or ``loso``.
        epochs, patience: as for ``verify``.
    """
    import numpy as np

    from eeg.splits import subject_folds

    if hparams_file is None:
        raise InputError("verify needs --hparams FILE (e.g. models/best_hyperparameters.json)")
    n_folds = parse_folds(folds)
    run = prepare_final_run(settings, hparams_file, epochs=epochs, patience=patience, describe=False)
    dataset = run.data.dataset
    fold_splits = subject_folds(dataset, n_folds, exclude=run.data.split.test, seed=settings.split_seed)
    n_samples = sum(len(f.test) for f in fold_splits)
    print(f"{len(fold_splits)} subject folds of the {n_samples} samples outside the {settings.split} split's test side "
          f"(which stays unread); each fold trains on the others, stops early on the next, scores its own subjects")
    if settings.split == "trial":
        print("note: these recordings include the validation split tuning selected on; the folds hold out people, "
              "not configs")
    subject = np.asarray(dataset.subject)
    per_fold = [_fold_row(fold, run, settings, subject, patience) for fold in fold_splits]
    baselines = _print_across_folds(per_fold)
    default_scores, tuned_scores = [r["default"] for r in per_fold], [r["tuned"] for r in per_fold]
    selection = selection_line(tuned_metadata(hparams_file), statistics.fmean(tuned_scores), "cross-subject")
    if selection:
        print(selection)
    document = verify_document(hparams_file, settings, run, default_scores, tuned_scores, {
        "folds": per_fold, "accuracy_default": default_scores, "accuracy_tuned": tuned_scores, "baselines": baselines,
    })
    write_verify_document(Path(settings.output_dir), "verify_folds.json", document)
    return 0
