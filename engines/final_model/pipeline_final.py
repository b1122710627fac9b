"""``train`` and ``verify`` for a ``--space pipeline`` configuration (its file holds ``model_family``).

``train`` fits the configuration on the training recordings (a CNN + LSTM with early stopping on validation, a
classical family once) and saves it with its test metrics. ``verify`` scores, over seeds, the tuned pipeline and
the default configuration (the seed's features and model) on the test recordings, beside the fixed classical
baselines on the seed's features. Because pipelines cut different windows, the paired comparison with the best
baseline is per test recording (``--split trial``) or per test subject (``--split subject``), pooled over the
seeds, with a bootstrap 95% interval (``scipy.stats.bootstrap``).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from eeg.errors import InputError
from engines.experiment.settings import Settings

__all__ = ["run_train_pipeline", "run_verify_pipeline", "paired_unit_interval"]


def _final_inputs(settings: Settings, hparams_file: str, epochs: int | None, patience: int) -> tuple:
    from eeg.pipeline_data import recording_sides
    from engines.experiment.data import check_pipeline_request, pipeline_raw, prepare_experiment_data
    from engines.final_model.train import check_same_split, final_epochs, read_document

    check_pipeline_request(settings)
    params = read_document(hparams_file)["hyperparameters"]
    n_epochs = final_epochs(settings, epochs, patience)
    data = prepare_experiment_data(settings)
    check_same_split(hparams_file, settings, data.description)
    print(data.split.describe(), flush=True)
    sides = recording_sides(data.dataset.subject, data.dataset.trial, data.split)
    return params, n_epochs, data, pipeline_raw(settings), sides


def run_train_pipeline(settings: Settings, hparams_file: str, *, epochs: int | None, patience: int) -> int:
    """Fit the pipeline configuration; save the model and ``train_metrics.json``."""
    from eeg.pipeline_final import score_pipeline
    from engines.experiment.files import replace_atomically, write_json_atomic

    params, n_epochs, data, raw, sides = _final_inputs(settings, hparams_file, epochs, patience)
    score = score_pipeline(raw, sides, settings.split, params, epochs=n_epochs, patience=patience,
                           seed=settings.seed, cache_dir=settings.feature_cache)
    output_dir = Path(settings.output_dir)
    if params.get("model_family", "cnn_lstm") == "cnn_lstm":
        model_file = output_dir / "emotion_model.keras"
        with replace_atomically(model_file, ".keras") as tmp:
            score.model.save(tmp)
    else:
        model_file = output_dir / "emotion_model.pkl"  # a scikit-learn pipeline (scaler + model)
        with replace_atomically(model_file, ".pkl") as tmp:
            Path(tmp).write_bytes(pickle.dumps(score.model))
    write_json_atomic(output_dir / "train_metrics.json", {
        "hyperparameters": params, "hparams_file": hparams_file, "epochs_run": score.epochs_run,
        "validation": {"accuracy": score.val_accuracy}, "test": {"accuracy": score.test_accuracy},
        "data": data.description, "seed": settings.seed, "model": str(model_file),
        # The model expects the pipeline's features, standardised with the training statistics.
        "scaler_mean": score.data.scaler_mean.tolist(), "scaler_scale": score.data.scaler_scale.tolist(),
    })
    print(f"Validation accuracy: {score.val_accuracy:.1%}")
    print(f"Test accuracy: {score.test_accuracy:.1%} ({params.get('model_family')} on {params.get('feature_set')} "
          f"features)")
    print(f"Saved {model_file} and {output_dir / 'train_metrics.json'}")
    return 0


def paired_unit_interval(tuned: dict[str, float], other: dict[str, float], *, seed: int = 0
                         ) -> tuple[float, tuple[float, float] | None, int]:
    """Mean of (tuned - other) over the units both score, its bootstrap 95% interval (None below 3 units), and
    the number of units."""
    from scipy import stats

    units = sorted(set(tuned) & set(other))
    diffs = np.array([tuned[u] - other[u] for u in units])
    if len(diffs) < 3:
        return float(diffs.mean()) if len(diffs) else float("nan"), None, len(diffs)
    if np.all(diffs == diffs[0]):
        return float(diffs[0]), (float(diffs[0]), float(diffs[0])), len(diffs)
    result = stats.bootstrap((diffs,), np.mean, confidence_level=0.95, method="percentile", n_resamples=9999,
                             random_state=np.random.default_rng(seed))
    return float(diffs.mean()), (float(result.confidence_interval.low), float(result.confidence_interval.high)), \
        len(diffs)


def _by_unit(per_recording: dict[tuple[int, int], float], strategy: str) -> dict[str, float]:
    """Per test recording (``"3:12"``) for ``--split trial``; per test subject (mean of its recordings) otherwise."""
    if strategy == "trial":
        return {f"{s}:{t}": acc for (s, t), acc in per_recording.items()}
    subjects: dict[str, list[float]] = {}
    for (s, _), acc in per_recording.items():
        subjects.setdefault(str(s), []).append(acc)
    return {s: float(np.mean(values)) for s, values in subjects.items()}


def run_verify_pipeline(settings: Settings, hparams_file: str, *, epochs: int | None, patience: int,
                        seeds: int) -> int:
    """The tuned pipeline and the default configuration on the test recordings over seeds, beside the baselines."""
    from eeg.baselines import baseline_test_predictions, baselines_line, best_baseline, fit_baselines_on
    from eeg.pipeline_final import DEFAULT_PIPELINE, per_recording_accuracy, score_pipeline
    from eeg.training import import_tensorflow_quietly
    from engines.final_model.comparison import interval_text, tuned_metadata, verdict
    from engines.final_model.verify import improvement_lines, verify_document, write_verify_document

    if seeds < 1:
        raise InputError(f"--seeds must be >= 1, got {seeds}")
    params, n_epochs, data, raw, sides = _final_inputs(settings, hparams_file, epochs, patience)
    import_tensorflow_quietly()
    scores: dict[str, list[float]] = {"default": [], "tuned": []}
    tuned_units: list[dict[str, float]] = []
    for seed in range(settings.seed, settings.seed + seeds):
        for label, config in (("default", DEFAULT_PIPELINE), ("tuned", params)):
            score = score_pipeline(raw, sides, settings.split, config, epochs=n_epochs, patience=patience,
                                   seed=seed, cache_dir=settings.feature_cache)
            scores[label].append(score.test_accuracy)
            if label == "tuned":
                tuned_units.append(_by_unit(score.per_recording, settings.split))
            print(f"  seed {seed} {label:>7}: test accuracy {score.test_accuracy:.1%}", flush=True)
    prepared = data.prepared
    baselines = fit_baselines_on(prepared, with_test=True, seed=settings.seed)
    best = best_baseline(baselines, on="test")  # the strongest fixed baseline: the harder comparison
    correct = baseline_test_predictions(prepared, best, seed=settings.seed) == prepared.y_test
    split = data.split
    baseline_units = _by_unit(per_recording_accuracy(data.dataset.subject[split.test], data.dataset.trial[split.test],
                                                     correct), settings.split)
    tuned_mean_units = {u: float(np.mean([units[u] for units in tuned_units])) for u in tuned_units[0]}
    gain, interval, n_units = paired_unit_interval(tuned_mean_units, baseline_units, seed=settings.seed)
    unit = "test recordings" if settings.split == "trial" else "test subjects"
    for line in improvement_lines(scores["default"], scores["tuned"], "seeds"):
        print(line)
    print(baselines_line(baselines) + " (on the seed's features, fitted on train, C chosen on validation)")
    spread = interval_text(interval, n_units, unit) if interval else f"no CI with {n_units} {unit}; use 3 or more"
    print(f"Tuned pipeline vs {best.name} (the best baseline on test): {gain * 100:+.1f} points per "
          f"{unit.split()[-1][:-1]} ({spread}): {verdict(interval, best.name)}")
    metadata = tuned_metadata(hparams_file)
    document = verify_document(hparams_file, settings, _Run(data, n_epochs), scores["default"], scores["tuned"], {
        "test_accuracy_default": scores["default"], "test_accuracy_tuned": scores["tuned"],
        "baselines": [b.as_dict() for b in baselines],
        "pipeline_vs_best_baseline": {
            "baseline": best.name, "baseline_test_accuracy": best.test_accuracy, "points": gain * 100,
            "ci95_points": [v * 100 for v in interval] if interval else None, "unit": unit, "n_units": n_units,
            "tuned_by_unit": tuned_mean_units, "baseline_by_unit": baseline_units},
        "model_family": params.get("model_family"),
    })
    document["best_val_accuracy"] = metadata.get("best_score")
    write_verify_document(Path(settings.output_dir), "verify.json", document)
    return 0


class _Run:
    """What :func:`engines.final_model.verify.verify_document` reads of a run: its data and epochs."""

    def __init__(self, data: Any, epochs: int) -> None:
        self.data, self.epochs = data, epochs

