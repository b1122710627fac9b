"""``tune_cluster.py report``: optimisation history, parameter importances, parallel coordinates, summary.

Plots come from Optuna's own visualisation module (plotly for HTML, matplotlib for
PNG), drawn from the experiment's study, so they match what the guide's 8.4 shows.
"""

from __future__ import annotations

import json
from pathlib import Path

from eeg.errors import InputError
from engines.layout import STUDY_NAME
from engines.settings import Settings

__all__ = ["run_report", "find_experiment", "summary_text"]

_PLOTS = ("plot_optimization_history", "plot_param_importances", "plot_parallel_coordinate")


def find_experiment(experiment: str | None, output_dir: str) -> Path:
    """The folder named, or the newest experiment under ``<output_dir>/tuning``."""
    if experiment is not None:
        folder = Path(experiment)
        if not (folder / "trials.parquet").is_file():
            raise InputError(f"{folder}: not an experiment folder (no trials.parquet); pass one under {output_dir}/tuning/")
        return folder
    root = Path(output_dir) / "tuning"
    candidates = sorted(root.glob("*/trials.parquet"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise InputError(f"{root}: no experiments found (run tune first, or pass --experiment DIR)")
    return candidates[-1].parent


def summary_text(experiment_dir: Path) -> str:
    """Best trial, how many stopped early, epochs spent, utilisation: from the trials table."""
    from engines.outputs import read_trials_table

    trials = read_trials_table(experiment_dir)
    summary_file = experiment_dir / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    ok = trials[trials["status"] != "failed"].dropna(subset=["best_val_accuracy"])
    lines = [f"Experiment {experiment_dir.name}: {len(trials)} trials"]
    for status in ("complete", "stopped_early", "failed", "running"):
        count = int((trials["status"] == status).sum())
        if count:
            lines.append(f"  {status.replace('_', ' ')}: {count}")
    lines.append(f"  epochs spent: {int(trials['epochs'].sum())}")
    if summary.get("worker_utilisation") is not None:
        lines.append(f"  worker utilisation: {summary['worker_utilisation']:.0%} over {summary['run_wall_s']:.0f} s")
    if not ok.empty:
        best = ok.loc[ok["best_val_accuracy"].idxmax()]
        params = {
            c.removeprefix("config/"): (best[c].item() if hasattr(best[c], "item") else best[c])
            for c in trials.columns
            if c.startswith("config/") and best[c] is not None and not (isinstance(best[c], float) and best[c] != best[c])
        }
        baseline = summary.get("val_majority_baseline")
        beside = f" (validation majority baseline {baseline:.1%})" if baseline is not None else ""
        lines.append(f"Best trial {best['trial_id']}: val_accuracy {best['best_val_accuracy']:.1%}{beside}")
        lines.append(f"  after {int(best['epochs'])} epochs on node {best['node_id']}; params: {params}")
    failed = trials[trials["status"] == "failed"]
    for _, row in failed.head(3).iterrows():
        lines.append(f"  failed {row['trial_id']}: {row['failure_reason']}")
    return "\n".join(lines)


def _load_study(experiment_dir: Path):
    import optuna

    database = experiment_dir.parent / "optuna.db"
    if not database.is_file():
        raise InputError(f"{database}: Optuna study database not found next to the experiment")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=f"{STUDY_NAME}:{experiment_dir.name}", storage=f"sqlite:///{database.resolve()}")


def _write_plots(study, experiment_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import warnings

    import optuna
    import optuna.visualization as plotly_vis
    import optuna.visualization.matplotlib as mpl_vis

    # The matplotlib backends are marked experimental; they work, and the warning only adds noise.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    written, skipped = [], []
    plots_dir = experiment_dir / "plots"
    plots_dir.mkdir(exist_ok=True)
    for name in _PLOTS:
        stem = name.removeprefix("plot_")
        try:
            plotly_vis.__dict__[name](study).write_html(plots_dir / f"{stem}.html")
            axes = mpl_vis.__dict__[name](study)
            figure = (axes.flat[0] if hasattr(axes, "flat") else axes).get_figure()
            figure.savefig(plots_dir / f"{stem}.png", dpi=110, bbox_inches="tight")
            plt.close("all")
            written += [f"{stem}.html", f"{stem}.png"]
        except (ValueError, RuntimeError) as exc:  # e.g. importances need two finished trials
            skipped.append(f"{stem} ({exc})")
    for note in skipped:
        print(f"skipped plot {note}")
    return written


def run_report(settings: Settings, experiment: str | None) -> int:
    """Write plots and ``report.txt`` into the experiment folder and print the summary."""
    experiment_dir = find_experiment(experiment, settings.output_dir)
    text = summary_text(experiment_dir)
    written = _write_plots(_load_study(experiment_dir), experiment_dir)
    (experiment_dir / "report.txt").write_text(text + "\n")
    print(text)
    print(f"Plots in {experiment_dir / 'plots'}: {', '.join(written) or 'none'}")
    return 0
