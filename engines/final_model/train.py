"""``train``: the guide's section 7 (apply) without the hand edit, and what ``train`` and ``verify`` share.

Both read the held-out test split, which tuning never touched, and print every accuracy
beside the majority-class baseline and chance of the same split; :func:`prepare_final_run`
reads the tuned file, the data and the split they both start from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eeg.errors import InputError
from engines.experiment.files import UnreadableJSON, read_json
from engines.experiment.settings import Settings

__all__ = ["DEFAULT_EPOCHS", "FinalRun", "read_hparams_file", "check_same_split", "final_epochs", "prepare_final_run",
           "run_train"]

DEFAULT_EPOCHS, SMOKE_EPOCHS = 40, 2


def read_hparams_file(path: str | None) -> dict[str, Any]:
    """The ``hyperparameters`` block of a best_hyperparameters.json (the guide's schema).

    Keys it does not set keep their defaults; unknown keys fail in ``resolve_hparams``.
    """
    return _read_document(path).get("hyperparameters", {})


def is_pipeline_configuration(path: str | None) -> bool:
    """Whether ``path`` holds a ``--space pipeline`` configuration (it names a ``model_family``)."""
    return path is not None and "model_family" in _read_document(path)["hyperparameters"]


def read_document(path: str) -> dict[str, Any]:
    """The whole best_hyperparameters.json, checked as ``read_hparams_file`` checks it."""
    return _read_document(path)


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


@dataclass(frozen=True)
class FinalRun:
    """What ``train`` and ``verify`` start from: the data with its test split, the tuned and default configs."""

    data: Any  # engines.experiment.data.ExperimentData
    tuned: dict[str, Any]
    default: dict[str, Any]
    epochs: int


def prepare_final_run(settings: Settings, hparams_file: str | None, *, epochs: int | None, patience: int,
                      describe: bool = True) -> FinalRun:
    """Check the flags and the tuned file, load and split the data (the split tuning held out), import TensorFlow.

    With ``describe`` the split and its warnings are printed.
    """
    from engines.experiment.data import prepare_experiment_data
    from eeg.model import DEFAULT_HPARAMS, resolve_hparams
    from eeg.splits import validation_warnings
    from eeg.training import import_tensorflow_quietly

    tuned = resolve_hparams(read_hparams_file(hparams_file))
    n_epochs = final_epochs(settings, epochs, patience)
    data = prepare_experiment_data(settings)
    import_tensorflow_quietly()
    check_same_split(hparams_file, settings, data.description)
    if describe:
        print(data.split.describe())
        for line in validation_warnings(data.dataset, data.split):
            print(line)
    return FinalRun(data, tuned, resolve_hparams(DEFAULT_HPARAMS), n_epochs)


def run_train(settings: Settings, hparams_file: str | None, *, epochs: int | None, patience: int) -> int:
    """Train the final model with early stopping on validation; save it and its test metrics."""
    from engines.experiment.files import replace_atomically, write_json_atomic
    from eeg.baselines import baselines_line, fit_baselines_on
    from eeg.training import accuracy_line, evaluate, train_model

    run = prepare_final_run(settings, hparams_file, epochs=epochs, patience=patience)
    if hparams_file is None:
        print("note: no --hparams given, so this trains the default configuration; pass "
              "--hparams models/best_hyperparameters.json for the tuned one", flush=True)
    prepared = run.data.prepared
    model, history = train_model(
        run.tuned, prepared, epochs=run.epochs, seed=settings.seed, early_stopping_patience=patience, verbose=0
    )
    val = evaluate(model, prepared.X_val, prepared.y_val, prepared.y_train)
    test = evaluate(model, prepared.X_test, prepared.y_test, prepared.y_train)
    baselines = fit_baselines_on(prepared, with_test=True, seed=settings.seed)
    output_dir = Path(settings.output_dir)
    model_file = output_dir / "emotion_model.keras"
    with replace_atomically(model_file, ".keras") as tmp:
        model.save(tmp)
    write_json_atomic(
        output_dir / "train_metrics.json",
        {
            "hyperparameters": run.tuned,
            "hparams_file": hparams_file,
            "epochs_run": len(history.get("loss", [])),
            "validation": val,
            "test": test,
            "data": run.data.description,
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
