"""A Ray run's outputs work the way the guide's users already use them (section 8.4) and `report` draws them."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import tune_cluster

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def five_trial_run(local_ray, tmp_path_factory):
    """The seed's quick test, `tune_cluster.py --use-dummy-data --max-trials 5`, from a project folder, as a user
    runs it (its own process and embedded Ray, the default verbosity); its console is kept in console.txt.

    Not --smoke-test, which caps trials at 3: the full synthetic data, with epochs cut to keep CI short.
    """
    project = tmp_path_factory.mktemp("project")
    run = subprocess.run(
        [sys.executable, str(ROOT / "tune_cluster.py"), "--use-dummy-data", "--max-trials", "5", "--max-epochs", "2",
         "--grace-period", "1", "--name", "quick"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600,
    )
    (project / "console.txt").write_text(run.stdout)
    assert run.returncode == 0, run.stdout[-3000:]
    return project


def test_the_default_console_is_a_header_one_line_per_trial_and_one_best_trial(five_trial_run):
    console = (five_trial_run / "console.txt").read_text()
    lines = console.splitlines()
    trial_lines = [line for line in lines if re.match(r"trial [0-9a-f]{8}  ", line)]
    assert len(trial_lines) == 5 and all(" done, " in line and "node " in line for line in trial_lines)
    assert trial_lines[-1].split("[")[1].startswith("5/5 done, 0 running, 0 left")
    assert any(line.startswith("Tuning 5 trials of up to 2 epochs (optuna + asha) on 1 node") for line in lines)
    assert sum(line.startswith("Best trial ") for line in lines) == 1 and "Current best trial" not in console
    assert lines[-1].startswith("Next: `make report`")
    for noise in ("╭", "│", "Trial status:", "started with configuration", "TensorBoard", "Checkpoint successfully",
                  "Token authentication is enabled", "\033", "\x1b"):
        assert noise not in console, f"{noise!r} reached the default console"
    assert len(lines) <= 20, console


def test_the_guides_load_study_finds_five_trials_and_its_three_plots_render(five_trial_run):
    import optuna

    cwd = os.getcwd()
    os.chdir(five_trial_run)
    try:
        study = optuna.load_study(study_name="emotion_recognition_optuna", storage="sqlite:///models/tuning/optuna.db")
        assert len(study.trials) == 5
        for plot in (
            optuna.visualization.plot_optimization_history,
            optuna.visualization.plot_param_importances,
            optuna.visualization.plot_parallel_coordinate,
        ):
            figure = plot(study)
            assert figure.to_html()  # renders without a browser
    finally:
        os.chdir(cwd)


def test_best_hyperparameters_keep_the_guides_schema_and_add_provenance(five_trial_run):
    document = json.loads((five_trial_run / "models" / "best_hyperparameters.json").read_text())
    assert set(document) == {"hyperparameters", "metadata"}
    metadata = document["metadata"]
    for key in ("best_score", "metric", "timestamp", "method", "searcher", "scheduler", "trials", "data", "split"):
        assert key in metadata
    assert metadata["trials"] == 5 and metadata["method"] == "ray"
    assert "learning_rate" in document["hyperparameters"]


def test_the_trials_table_has_config_metrics_status_node_and_wall_time(five_trial_run):
    import pandas as pd

    folder = five_trial_run / "models" / "tuning" / "quick"
    parquet = pd.read_parquet(folder / "trials.parquet")
    csv = pd.read_csv(folder / "trials.csv")
    assert len(parquet) == len(csv) == 5
    for column in ("trial_id", "status", "best_val_accuracy", "node_id", "wall_time_s", "failure_reason", "config/learning_rate"):
        assert column in parquet.columns
    assert (parquet["wall_time_s"] > 0).all()


def test_report_writes_the_three_plots_as_html_and_png_and_a_summary(five_trial_run, capsys):
    folder = five_trial_run / "models" / "tuning" / "quick"
    assert tune_cluster.main(["report", "--experiment", str(folder)]) == 0
    out = capsys.readouterr().out
    for stem in ("optimization_history", "parallel_coordinate", "slice"):
        assert (folder / "plots" / f"{stem}.html").stat().st_size > 0
        assert (folder / "plots" / f"{stem}.png").stat().st_size > 0
    assert "skipped param_importances (fANOVA needs at least 20 finished trials" in out  # 5 trials: noise
    assert "Best trial" in out and "epochs spent" in out
    assert (folder / "report.txt").read_text().startswith("Experiment quick")


def test_tensorboard_logs_are_kept_for_every_trial(five_trial_run):
    folder = five_trial_run / "models" / "tuning" / "quick"
    assert len(list(folder.glob("trial_*/events.out.tfevents.*"))) == 5


def test_a_finished_experiment_resumed_says_so_and_exits_zero(five_trial_run, capsys):
    cwd = os.getcwd()
    os.chdir(five_trial_run)
    try:
        code = tune_cluster.main(["--use-dummy-data", "--resume", "--name", "quick"])
        # A flag that would change it is refused even now that it is finished (it ran without --smoke-test).
        refused = tune_cluster.main(["--use-dummy-data", "--smoke-test", "--resume", "--name", "quick"])
    finally:
        os.chdir(cwd)
    assert code == 0
    out, err = capsys.readouterr()
    assert "already finished" in out
    assert refused == 2 and "was run with --smoke-test False, got True" in err


def test_the_same_name_without_resume_is_refused_and_nothing_is_overwritten(five_trial_run, capsys):
    best = five_trial_run / "models" / "best_hyperparameters.json"
    before = best.read_bytes()
    cwd = os.getcwd()
    os.chdir(five_trial_run)
    try:
        code = tune_cluster.main(["--use-dummy-data", "--smoke-test", "--name", "quick"])
    finally:
        os.chdir(cwd)
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "already exists" in err and "--resume" in err and len(err.splitlines()) == 1
    assert best.read_bytes() == before


def _browser() -> str:
    """Debian's chromium, installed by `.ci/browser-setup.sh` (CI runs it; it needs root or sudo here)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    setup = subprocess.run(["bash", str(ROOT / ".ci" / "browser-setup.sh")], capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, f"no chromium for the dashboard test: {setup.stderr.strip()}"
    return setup.stdout.strip().splitlines()[-1]


def test_make_dashboard_serves_the_study_and_a_real_browser_finds_its_five_trials(five_trial_run, tmp_path):
    browser = _browser()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["make", "-s", "-C", str(ROOT), "dashboard", f"OUTPUT_DIR={five_trial_run / 'models'}",
                               f"DASHBOARD_ARGS=--port {port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        seen = []
        for line in server.stdout:  # make may install first; the address line comes before the server blocks
            seen.append(line)
            if line.startswith("Optuna dashboard of "):
                break
        assert seen and seen[-1].startswith("Optuna dashboard of quick: http://127.0.0.1:"), "".join(seen)[-2000:]
        study_page = seen[-1].split(": ", 1)[1].strip()
        assert study_page.startswith(f"http://127.0.0.1:{port}/dashboard/studies/")
        headless = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=15000",
                    "--window-size=1400,1000"]
        dom = subprocess.run([*headless, "--dump-dom", f"{study_page}/trials"], capture_output=True, text=True,
                             timeout=120).stdout
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", " ", dom, flags=re.S)))
        assert "emotion_recognition_optuna:quick" in text and "5 Trials" in text, text[:2000]
        assert all(f"Trial {n} " in text for n in range(5)) and "Best Trial" in text
        # A picture to look at (kept with the test's files): the study's history page.
        subprocess.run([*headless, f"--screenshot={tmp_path / 'dashboard.png'}", study_page], capture_output=True,
                       timeout=120, check=True)
        assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the make and the server it started, nothing else
        server.wait(timeout=30)
