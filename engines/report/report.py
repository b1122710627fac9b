"""``tune_cluster.py report``: a summary and the pictures a tuner user looks at, for a finished or running experiment.

Learning curves and the anytime curve come from every trial's per-epoch validation
accuracy (:mod:`engines.report.progress`: the trials table, Ray's trial folders while a Ray run
is going, or the native Optuna study); optimisation history, importances, parallel
coordinates and slices come from Optuna's visualisation of the experiment's study, limited
to the most important parameters (:mod:`engines.report.plots`). ``plots/index.html`` shows them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eeg.errors import InputError
from engines.experiment.files import read_json_object
from engines.experiment.records import STATUSES
from engines.experiment.settings import Settings
from engines.experiment.trials_table import TABLE_FILE, read_trials_table
from engines.report.progress import ExperimentProgress, TrialProgress, load_study, read_progress

__all__ = ["run_report", "find_experiment", "summary_text", "fold_spread_lines"]


def _is_experiment(folder: Path) -> bool:
    """A finished run (trials table), or one still going (its config.json, or Ray's trial folders)."""
    return any((folder / name).is_file() for name in (TABLE_FILE, "config.json")) or any(
        folder.glob("trial_*/result.json")
    )


def find_experiment(experiment: str | None, output_dir: str) -> Path:
    """The folder named, or the most recently changed experiment under ``<output_dir>/tuning``."""
    if experiment is not None:
        folder = Path(experiment)
        if not folder.is_dir() or not _is_experiment(folder):
            raise InputError(f"{folder}: not an experiment folder (no trials.parquet, config.json or Ray trial "
                             f"folders); pass one under {output_dir}/tuning/")
        return folder
    root = Path(output_dir) / "tuning"
    candidates = [p for p in root.glob("*") if p.is_dir() and _is_experiment(p)] if root.is_dir() else []
    if not candidates:
        raise InputError(f"{root}: no experiments found (run tune first, or pass --experiment DIR)")

    def changed(folder: Path) -> float:
        return max((f.stat().st_mtime for f in folder.glob("*") if f.exists()), default=folder.stat().st_mtime)

    return max(candidates, key=changed)


def _verify_results(experiment_dir: Path, output_dir: str) -> dict[str, dict[str, Any]]:
    """``verify.json`` / ``verify_folds.json`` of this experiment's tuned config, where ``verify`` has run."""
    found = {}
    for name in ("verify.json", "verify_folds.json"):
        for candidate in (experiment_dir / name, Path(output_dir) / name):
            document = read_json_object(candidate)
            experiment = document.get("experiment")
            if document and (candidate.parent == experiment_dir or (experiment and Path(experiment).resolve()
                                                                    == experiment_dir.resolve())):
                found[name] = document
                break
    return found


def _selection_lines(summary: dict[str, Any], verified: dict[str, dict[str, Any]]) -> list[str]:
    """The best trial's validation score beside what ``verify`` measured later, and the split's warnings."""
    lines = []
    best = summary.get("best_val_accuracy")
    if best is not None and "verify.json" in verified:
        tuned = verified["verify.json"]["test_accuracy_tuned"]
        mean = sum(tuned) / len(tuned)
        lines.append(f"Selection check: best validation {best:.1%} vs tuned test {mean:.1%} from verify "
                     f"({len(tuned)} seeds): {(mean - best) * 100:+.1f} points")
    if best is not None and "verify_folds.json" in verified:
        tuned = verified["verify_folds.json"]["accuracy_tuned"]
        mean = sum(tuned) / len(tuned)
        lines.append(f"Selection check: best validation {best:.1%} vs tuned cross-subject {mean:.1%} from "
                     f"verify --folds ({len(tuned)} folds): {(mean - best) * 100:+.1f} points")
    if best is not None and not verified:
        lines.append("Selection check: run `make verify` to see the tuned config's test accuracy beside its "
                     "validation score (the best of many trials overstates it)")
    for name, document in verified.items():
        baselines = document.get("baselines")
        if name == "verify.json" and baselines:
            parts = ", ".join(f"{b['name']} {b['test_accuracy']:.1%}" for b in baselines)
            lines.append(f"Classical baselines on the test split (verify): {parts}")
    lines += summary.get("selection_warnings") or []
    return lines


def summary_text(experiment_dir: Path, output_dir: str = "models", progress: ExperimentProgress | None = None) -> str:
    """Trial counts, epochs, the best trial beside the baselines, and the selection check; from what exists so far.

    ``progress`` is the experiment's :func:`engines.report.progress.read_progress`, read here when not given.
    """
    experiment_dir = Path(experiment_dir)
    progress = progress or read_progress(experiment_dir)
    summary = dict(progress.summary)
    running = "" if progress.finished else " (still running or interrupted: what the storage holds so far)"
    lines = [f"Experiment {experiment_dir.name}: {len(progress.trials)} trials{running}, read from the {progress.source}"]
    lines += _count_lines(progress, summary)
    scored = [t for t in progress.trials if t.val_accuracy and t.status not in ("failed", "diverged")]
    if scored:
        lines += _best_lines(max(scored, key=lambda t: max(t.val_accuracy)), summary)
    lines += fold_spread_lines(experiment_dir)
    if summary.get("val_baselines"):
        parts = ", ".join(f"{b['name']} {b['val_accuracy']:.1%}" for b in summary["val_baselines"])
        folds = summary.get("cv_folds")  # --cv K: trials and baselines were scored on K folds
        lines.append(f"Classical baselines on {f'the same {folds} folds (mean)' if folds else 'the same validation split'}: "
                     f"{parts}")
    summary.setdefault("best_val_accuracy", max((max(t.val_accuracy) for t in scored), default=None))
    lines += _selection_lines(summary, _verify_results(experiment_dir, output_dir))
    failed = [t for t in progress.trials if t.status in ("failed", "diverged") and t.failure_reason is not None]
    lines += [f"  {t.status} {t.trial_id}: {t.failure_reason}" for t in failed[:3]]
    return "\n".join(lines)


def fold_spread_lines(experiment_dir: Path, top: int = 5) -> list[str]:
    """With --cv K: the ``top`` configurations by fold mean, each with its std and every fold's score.

    Two configs whose means differ by less than their fold spread are not told apart by the data.
    """
    if not (Path(experiment_dir) / TABLE_FILE).is_file():
        return []
    frame = read_trials_table(Path(experiment_dir))
    fold_columns = sorted((c for c in frame.columns if c.startswith("fold_") and c.endswith("/val_accuracy")),
                          key=lambda c: int(c.split("/")[0].split("_")[1]))
    if not fold_columns:
        return []
    scored = frame[frame["best_val_accuracy"].notna() & ~frame["status"].isin(["failed", "diverged"])]
    best = scored.sort_values("best_val_accuracy", ascending=False).head(top)
    lines = [f"Top {len(best)} configurations by the mean of {len(fold_columns)} folds (std, then each fold):"]
    for _, row in best.iterrows():
        folds = ", ".join(f"{row[c]:.1%}" for c in fold_columns if row[c] == row[c])  # NaN != NaN: no score
        std = row.get("val_accuracy_std")
        spread = f"std {std:.1%}" if std == std and std is not None else "std n/a"
        lines.append(f"  trial {row['trial_id']}: {row['best_val_accuracy']:.1%} ({spread}; folds {folds})")
    return lines


def _count_lines(progress: ExperimentProgress, summary: dict[str, Any]) -> list[str]:
    """Trials per status, epochs spent and the workers' utilisation."""
    lines = []
    for status in STATUSES:
        count = sum(t.status == status for t in progress.trials)
        if count:
            lines.append(f"  {status.replace('_', ' ')}: {count}")
    lines.append(f"  epochs spent: {sum(len(t.val_accuracy) for t in progress.trials)}")
    if summary.get("worker_utilisation") is not None:
        lines.append(f"  worker utilisation: {summary['worker_utilisation']:.0%} over {summary['run_wall_s']:.0f} s")
    return lines


def _best_lines(best: TrialProgress, summary: dict[str, Any]) -> list[str]:
    """The best trial's score beside the validation baselines, and its params."""
    beside = ""
    if summary.get("val_majority_baseline") is not None:
        beside = f" (validation majority baseline {summary['val_majority_baseline']:.1%}, chance {summary['chance']:.1%})"
    params = {k: (v.item() if hasattr(v, "item") else v) for k, v in best.params.items() if v == v}
    # A column with gaps (inactive knobs) is read back as float: show 64, not 64.0.
    params = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in params.items()}
    scores = [v if v == v else float("-inf") for v in best.val_accuracy]
    at = scores.index(max(scores)) + 1
    return [f"Best trial {best.trial_id}: val_accuracy {max(scores):.1%}{beside}",
            f"  at epoch {at} of the {len(scores)} it ran; params: {params}"]


def run_report(settings: Settings, experiment: str | None) -> int:
    """Write the pictures, ``plots/index.html`` and ``report.txt`` into the experiment folder; print where they are."""
    from engines.report.plots import plot_anytime, plot_learning_curves, plot_parameters, write_index

    experiment_dir = find_experiment(experiment, settings.output_dir)
    progress = read_progress(experiment_dir)
    text = summary_text(experiment_dir, settings.output_dir, progress)
    print(text, flush=True)
    plots_dir = experiment_dir / "plots"
    plots_dir.mkdir(exist_ok=True)
    pictures, notes = [], []
    if any(t.val_accuracy for t in progress.trials):
        plot_learning_curves(progress, plots_dir / "learning_curves.png",
                             baseline=progress.summary.get("val_majority_baseline"))
        plot_anytime(progress, plots_dir / "anytime.png", baseline=progress.summary.get("val_majority_baseline"))
        pictures += ["learning_curves.png", "anytime.png"]
    else:
        notes.append("no trial has finished an epoch yet: no learning curves")
    if (experiment_dir / "pareto_front.json").is_file():  # --objective accuracy,latency
        from engines.report.pareto_plot import plot_pareto_front

        plot_pareto_front(experiment_dir, plots_dir / "pareto_front.png")
        pictures.append("pareto_front.png")
    study = load_study(experiment_dir, progress.config)
    if study is None:
        notes.append("parameter plots come from the experiment's Optuna study, written when the run ends")
    else:
        written, skipped = plot_parameters(study, plots_dir)
        pictures += [f for f in written if f.endswith(".png")]
        notes += [f"skipped {note}" for note in skipped]
    index = write_index(plots_dir, f"Experiment {experiment_dir.name}", pictures, [text.splitlines()[0], *notes])
    (experiment_dir / "report.txt").write_text(text + "\n")
    for note in notes:
        print(note)
    for picture in pictures:
        print(f"  {plots_dir / picture}")
    print(f"All pictures: {index}")
    return 0
