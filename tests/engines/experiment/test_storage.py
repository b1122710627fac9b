"""--storage: the URI check before anything runs, and the experiment's config and outputs kept in its storage."""

from __future__ import annotations

import json
import socket

import pytest

from eeg.errors import InputError
from engines.experiment.layout import ExperimentPaths, join_uri
from engines.experiment.storage import (
    StorageError, check_storage, fetch_experiment, read_stored_config, upload_outputs, write_stored_config,
)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_name_joins_a_uri_before_its_query():
    assert join_uri("s3://b/p/?endpoint_override=h:1&scheme=http", "exp") == "s3://b/p/exp?endpoint_override=h:1&scheme=http"
    assert join_uri("/tmp/results/", "exp", "x.json") == "/tmp/results/exp/x.json"


@pytest.mark.parametrize("storage", [None, "/some/local/path", "relative/path", "file:///tmp"])
def test_paths_need_no_check(storage):
    check_storage(storage)


def test_an_unknown_scheme_is_one_line_naming_storage_and_the_value():
    with pytest.raises(InputError, match=r"--storage must be a path or a URI Ray can write to .*got 'sss://b/p'"):
        check_storage("sss://b/p")


def test_a_bucket_that_does_not_exist_is_refused(s3_server):
    with pytest.raises(InputError, match="--storage: bucket 'no-such-bucket' must exist") as error:
        check_storage(s3_server.uri("no-such-bucket", "runs"))
    assert "\n" not in str(error.value) and "got 's3://no-such-bucket/runs" in str(error.value)


def test_a_refused_endpoint_is_refused(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    uri = f"s3://eeg-bucket/runs?endpoint_override=127.0.0.1:{closed_port()}&scheme=http&region=us-east-1"
    with pytest.raises(InputError, match="--storage: the storage must answer") as error:
        check_storage(uri)
    assert "\n" not in str(error.value) and uri in str(error.value)


def test_an_existing_bucket_passes(s3_server):
    check_storage(s3_server.uri("eeg-bucket", "runs/deeper"))


def test_the_config_and_outputs_round_trip_through_s3_and_are_fetched(s3_server, tmp_path):
    paths = ExperimentPaths(tmp_path / "out", "exp", s3_server.uri("eeg-bucket", "runs"))
    assert read_stored_config(paths) is None
    write_stored_config(paths, {"searcher": "optuna", "split": "trial"})
    assert read_stored_config(paths) == {"searcher": "optuna", "split": "trial"}
    paths.local.mkdir(parents=True)
    (paths.local / "summary.json").write_text("{}")
    best = paths.output_dir / "best_hyperparameters.json"
    best.write_text('{"hyperparameters": {}}')
    upload_outputs(paths, best)
    fetched = tmp_path / "fetched"
    fetch_experiment(paths.storage, "exp", fetched)
    assert json.loads((fetched / "best_hyperparameters.json").read_text()) == {"hyperparameters": {}}
    assert (fetched / "tuning" / "exp" / "summary.json").is_file()
    assert (fetched / "tuning" / "exp" / "ray_results" / "eeg_experiment_config.json").is_file()


def test_a_storage_that_stopped_answering_is_a_storage_error(s3_server, tmp_path):
    paths = ExperimentPaths(tmp_path / "out", "exp", s3_server.uri("eeg-bucket", "runs"))
    paths.local.mkdir(parents=True)
    s3_server.stop()
    with pytest.raises(StorageError, match="--storage: could not copy the outputs to s3://eeg-bucket/runs/exp/eeg_outputs"):
        upload_outputs(paths, None)


def test_fetching_an_experiment_the_storage_does_not_hold_is_refused(s3_server, tmp_path):
    with pytest.raises(InputError, match="no experiment named 'nope'"):
        fetch_experiment(s3_server.uri("eeg-bucket", "runs"), "nope", tmp_path)


def test_storage_answers_for_an_existing_experiment_folder_and_not_for_a_missing_or_unreachable_one(tmp_path):
    from engines.experiment.storage import storage_answers

    assert storage_answers(str(tmp_path))
    assert not storage_answers(str(tmp_path / "missing"))
    assert not storage_answers(f"s3://b/p?endpoint_override=127.0.0.1:{closed_port()}&scheme=http&region=us-east-1"
                               "&connect_timeout=1&request_timeout=1")
