"""engines/report/dashboard.py: the experiment's study found or refused in one line, the server bound or refused."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from pathlib import Path

import pytest

from eeg.errors import InputError
from engines.experiment.layout import study_location
from engines.report.dashboard import dashboard_server, study_address


def _experiment(tmp_path: Path, name: str = "quick") -> Path:
    folder = tmp_path / "models" / "tuning" / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"name": name}))
    return folder


def _study_with_two_trials(experiment: Path) -> str:
    import optuna

    url, name = study_location(experiment.parent, experiment.name, None)
    study = optuna.create_study(study_name=name, storage=url, direction="maximize")
    for value in (0.4, 0.6):
        study.add_trial(optuna.trial.create_trial(params={"lr": 0.01}, value=value,
                                                  distributions={"lr": optuna.distributions.FloatDistribution(1e-4, 1)}))
    return url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_experiment_without_a_study_is_refused_with_the_experiment_and_the_study_it_looked_for(tmp_path):
    experiment = _experiment(tmp_path)
    with pytest.raises(InputError) as refused:
        study_address(experiment, None)
    message = str(refused.value)
    assert str(experiment) in message and "emotion_recognition_optuna:quick" in message and "\n" not in message


def test_the_study_of_the_experiment_is_found_by_its_own_name(tmp_path):
    experiment = _experiment(tmp_path)
    url = _study_with_two_trials(experiment)
    assert study_address(experiment, None) == (url, 1)


def test_while_a_ray_run_goes_its_searchers_live_study_is_opened_then_the_experiments_own(tmp_path):
    import optuna

    experiment = _experiment(tmp_path)
    url, name = study_location(experiment.parent, experiment.name, None)
    optuna.create_study(study_name="someone else's", storage=url)
    optuna.create_study(study_name=f"{name}:live", storage=url)  # OptunaSearch's, as the run goes
    assert study_address(experiment, None) == (url, 2)
    optuna.create_study(study_name=name, storage=url)  # the run's end wrote the experiment's study
    assert study_address(experiment, None) == (url, 3)


def test_a_port_in_use_is_refused_in_one_line(tmp_path):
    url = _study_with_two_trials(_experiment(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InputError, match=rf"--port {port}: already in use"):
            dashboard_server(url, "127.0.0.1", port)
    with pytest.raises(InputError, match="--port must be between 1 and 65535, got 70000"):
        dashboard_server(url, "127.0.0.1", 70000)


def test_the_server_answers_with_the_experiments_study_and_its_trials(tmp_path):
    url = _study_with_two_trials(_experiment(tmp_path))
    port = _free_port()
    with dashboard_server(url, "127.0.0.1", port) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            base = f"http://127.0.0.1:{port}"
            studies = json.load(urllib.request.urlopen(f"{base}/api/studies", timeout=30))["study_summaries"]
            assert [s["study_name"] for s in studies] == ["emotion_recognition_optuna:quick"]
            detail = json.load(urllib.request.urlopen(f"{base}/api/studies/1", timeout=30))
            assert sorted(t["values"][0] for t in detail["trials"]) == [0.4, 0.6]
        finally:
            server.shutdown()
            thread.join(timeout=10)
