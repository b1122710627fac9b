"""``train`` and ``verify``: the guide's section 7 (apply and verify) without the hand edit.

Both read the held-out test split, which tuning never touched, and print every accuracy
beside the majority-class baseline and chance of the same split.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from eeg.errors import InputError
from engines.experiment.files import UnreadableJSON, read_json
from engines.experiment.settings import Settings

__all__ = [
    "read_hparams_file",
    "check_same_split",
    "run_train",
    "run_verify",
    "paired_improvement",
    "write_verify_document",
    "final_epochs",
]

DEFAULT_EPOCHS, SMOKE_EPOCHS = 40, 2


def read_hparams_file(path: str | None) -> dict[str, Any]:
    """The ``hyperparameters`` block of a best_hyperparameters.json (the guide's schema).

    Keys it does not set keep their defaults; unknown keys fail in ``resolve_hparams``.
    """
    return _read_document(path).get("hyperparameters", {})


def check_same_split(path: str | None, settings: Settings, data_description: str) -> None:
    """Refuse to evaluate on a different split than the one tuning held out.

    A tuned file records ``split`` and ``split_seed``; another split's test recordings may
    have been the tuner's training data, and the before/after numbers would be leaked.
    A different dataset only earns a note: its path may simply be spelt differently.
    """
    metadata = _read_document(path).get("metadata") or {}
    for key, flag in (("split", "--split"), ("split_seed", "--split-seed")):
        if key in metadata and metadata[key] != getattr(settings, key):
            raise InputError(
                f"{path}: tuned with {key}={metadata[key]!r} but this run uses {getattr(settings, key)!r}; pass "
                f"{flag} {metadata[key]} so the test split is the one tuning never saw"
            )
    if metadata.get("data") and metadata["data"] != data_description:
        print(f"note: {path} was tuned on {metadata['data']!r}; this run uses {data_description!r}")


def _read_document(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{file}: hyperparameter file not found")
    try:
        document = read_json(file, strict=True)
    except UnreadableJSON as exc:
        raise InputError(f"{file}: must be JSON like best_hyperparameters.json, could not parse it ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("hyperparameters"), dict):
        found = sorted(document) if isinstance(document, dict) else type(document).__name__
        raise InputError(f"{file}: needs a 'hyperparameters' object (the guide's schema), found {found}")
    return document


def final_epochs(settings: Settings, epochs: int | None, patience: int) -> int:
    """``--epochs`` (default 40, 2 for a smoke test), after checking it and ``--patience``."""
    if epochs is not None and epochs < 1:
        raise InputError(f"--epochs must be >= 1, got {epochs}")
    if patience < 0:
        raise InputError(f"--patience must be >= 0 epochs, got {patience}")
    chosen = epochs or DEFAULT_EPOCHS
    return min(chosen, SMOKE_EPOCHS) if settings.smoke_test else chosen


def run_train(settings: Settings, hparams_file: str | None, *, epochs: int | None, patience: int) -> int:
    """Train the final model with early stopping on validation; save it and its test metrics."""
    from engines.experiment.data import prepare_experiment_data
    from engines.experiment.files import replace_atomically, write_json_atomic
    from eeg.baselines import baselines_line, fit_baselines_on
    from eeg.model import resolve_hparams
    from eeg.splits import validation_warnings
    from eeg.training import accuracy_line, evaluate, import_tensorflow_quietly, train_model

    hparams = resolve_hparams(read_hparams_file(hparams_file))
    n_epochs = final_epochs(settings, epochs, patience)
    data = prepare_experiment_data(settings)
    import_tensorflow_quietly()
    check_same_split(hparams_file, settings, data.description)
    prepared = data.prepared
    print(data.split.describe())
    for line in validation_warnings(data.dataset, data.split):
        print(line)
    model, history = train_model(
        hparams, prepared, epochs=n_epochs, seed=settings.seed, early_stopping_patience=patience, verbose=0
    )
    val = evaluate(model, prepared.X_val, prepared.y_val, prepared.y_train)
    test = evaluate(model, prepared.X_test, prepared.y_test, prepared.y_train)
    baselines = fit_baselines_on(prepared, with_test=True, seed=settings.seed)
    output_dir = Path(settings.output_dir)
    model_file = output_dir / "emotion_model.keras"
    replace_atomically(model_file, lambda tmp: model.save(tmp), ".keras")
    write_json_atomic(
        output_dir / "train_metrics.json",
        {
            "hyperparameters": hparams,
            "hparams_file": hparams_file,
            "epochs_run": len(history.get("loss", [])),
            "validation": val,
            "test": test,
            "data": data.description,
            "seed": settings.seed,
            "model": str(model_file),
            # The model expects standardised inputs: keep the training statistics with it.
            "scaler_mean": prepared.scaler_mean.tolist(),
            "scaler_scale": prepared.scaler_scale.tolist(),
            "baselines": [b.as_dict() for b in baselines],
        },
    )
    print(accuracy_line("Validation accuracy", val["accuracy"], val["majority_baseline"], val["chance"]))
    print(accuracy_line("Test accuracy", test["accuracy"], test["majority_baseline"], test["chance"]))
    print(baselines_line(baselines) + " (fitted on train, C chosen on validation)")
    print(f"Saved {model_file} and {output_dir / 'train_metrics.json'}")
    return 0


def paired_improvement(before: list[float], after: list[float]) -> tuple[float, tuple[float, float] | None]:
    """Mean paired difference (after - before) and its 95% t-interval over seeds (None for one seed)."""
    from engines.final_model.comparison import mean_interval

    return mean_interval([a - b for a, b in zip(after, before)])


def run_verify(
    settings: Settings,
    hparams_file: str | None,
    *,
    epochs: int | None,
    patience: int,
    seeds: int,
) -> int:
    """Train the default and the tuned config on the same split over several seeds; compare on test.

    Every result is printed beside the majority baseline, chance and the classical baselines
    of the same split (``verify --folds`` runs :func:`engines.final_model.folds.run_verify_folds` instead).
    """
    from engines.final_model.comparison import baseline_comparison_lines, interval_text, selection_line, tuned_metadata
    from engines.experiment.data import prepare_experiment_data
    from eeg.baselines import baselines_line, fit_baselines_on
    from eeg.model import DEFAULT_HPARAMS, resolve_hparams
    from eeg.splits import validation_warnings
    from eeg.training import evaluate, import_tensorflow_quietly, train_model

    if hparams_file is None:
        raise InputError("verify needs --hparams FILE (e.g. models/best_hyperparameters.json)")
    if seeds < 1:
        raise InputError(f"--seeds must be >= 1, got {seeds}")
    tuned = resolve_hparams(read_hparams_file(hparams_file))
    default = resolve_hparams(DEFAULT_HPARAMS)
    n_epochs = final_epochs(settings, epochs, patience)
    import_tensorflow_quietly()
    data = prepare_experiment_data(settings)
    check_same_split(hparams_file, settings, data.description)
    prepared = data.prepared
    print(data.split.describe())
    for line in validation_warnings(data.dataset, data.split):
        print(line)
    scores: dict[str, list[float]] = {"default": [], "tuned": []}
    baseline = chance = 0.0
    for offset in range(seeds):
        seed = settings.seed + offset
        for label, hparams in (("default", default), ("tuned", tuned)):
            model, _ = train_model(hparams, prepared, epochs=n_epochs, seed=seed, early_stopping_patience=patience)
            result = evaluate(model, prepared.X_test, prepared.y_test, prepared.y_train)
            scores[label].append(result["accuracy"])
            baseline, chance = result["majority_baseline"], result["chance"]
            print(f"  seed {seed} {label:>7}: test accuracy {result['accuracy']:.1%}", flush=True)
    # The classical baselines do not depend on the training seed: fitted once, compared with every seed.
    baselines = fit_baselines_on(prepared, with_test=True, seed=settings.seed)
    before, after = statistics.fmean(scores["default"]), statistics.fmean(scores["tuned"])
    mean_gain, interval = paired_improvement(scores["default"], scores["tuned"])
    print(f"Before optimization: {before:.1%} accuracy")
    print(f"After optimization:  {after:.1%} accuracy")
    print(f"Improvement: {mean_gain * 100:+.1f} points ({interval_text(interval, seeds, 'seeds')})")
    print(f"Majority baseline on the same test split: {baseline:.1%} (chance {chance:.1%})")
    print(baselines_line(baselines) + " (fitted on train, C chosen on validation)")
    for line in baseline_comparison_lines(scores["tuned"], {b.name: [b.test_accuracy] * seeds for b in baselines}, "seeds"):
        print(line)
    metadata = tuned_metadata(hparams_file)
    selection = selection_line(metadata, after, "test")
    if selection:
        print(selection)
    document = {
        "hparams_file": hparams_file,
        "test_accuracy_default": scores["default"],
        "test_accuracy_tuned": scores["tuned"],
        "improvement_points": mean_gain * 100,
        "ci95_points": [v * 100 for v in interval] if interval else None,
        "majority_baseline": baseline,
        "chance": chance,
        "baselines": [b.as_dict() for b in baselines],
        "best_val_accuracy": metadata.get("best_score"),
        "experiment": metadata.get("experiment"),
        "split": settings.split,
        "epochs": n_epochs,
        "data": data.description,
    }
    write_verify_document(Path(settings.output_dir), "verify.json", document)
    return 0


def write_verify_document(output_dir: Path, filename: str, document: dict[str, Any]) -> None:
    """``<output-dir>/<filename>``, and a copy in the tuned file's experiment folder when it is here (for ``report``)."""
    from engines.experiment.files import write_json_atomic

    write_json_atomic(output_dir / filename, document)
    experiment = document.get("experiment")
    if experiment and Path(experiment).is_dir():
        write_json_atomic(Path(experiment) / filename, document)
