"""The shared run lifecycle (``engines.tune.run.run_tune``) with a stand-in backend: no engine, no training.

The stand-in returns canned trial records, so these tests check what every method shares:
the refusals before anything is written, resume taking the experiment's own settings, the
outputs, and the exit codes.
"""

from __future__ import annotations

import contextlib
import json

import pytest

import engines.tune.run
from eeg.errors import InputError
from engines.backends.base import SearchOutcome
from engines.experiment.layout import STUDY_NAME
from engines.experiment.records import TrialRecord
from engines.experiment.settings import load_settings

SAME_ON_RESUME = ("searcher", "max_trials", "split", "seed")


def record(trial_id: str, status: str, best: float | None = 0.5, reason: str | None = None) -> TrialRecord:
    return TrialRecord(trial_id=trial_id, params={"learning_rate": 0.001, "batch_size": 32}, status=status,
                       best_val_accuracy=best, val_accuracy_history=[best] if best is not None else [], epochs=2,
                       node_id="node-a", wall_time_s=1.0, failure_reason=reason)


class StandInBackend:
    """Says what the Backend protocol asks for; its search returns ``records``."""

    method = "ray"
    on_existing = "refuse"
    same_on_resume = SAME_ON_RESUME

    def __init__(self, records=(), *, interrupted=False, fatal=None, stopped=None):
        self.records, self.interrupted, self.fatal, self.stopped = list(records), interrupted, fatal, stopped
        self.searched = []

    def check(self, settings):
        if settings.searcher == "genetic":
            raise InputError(f"--searcher must be one of optuna, got {settings.searcher!r}")

    def default_name(self, settings):
        return "stand-in"

    def has_state(self, settings, paths):
        return False

    def translate(self, settings, space):
        return "translated"

    def already_done(self, settings, paths):
        return None

    def session(self, settings):
        return contextlib.nullcontext()

    def search(self, run):
        self.searched.append(run)
        return SearchOutcome(
            records=self.records, run_wall_s=2.0, utilisation=0.5, finished=not self.interrupted,
            metadata={"method": "ray", "searcher": run.settings.searcher, "scheduler": run.settings.scheduler},
            study_names=[STUDY_NAME, run.paths.study_name], unfinished_line="Not finished: continue with --resume",
            interrupted=self.interrupted, fatal=self.fatal, stopped=self.stopped,
        )


@pytest.fixture
def stand_in(monkeypatch):
    backends = []

    def use(backend: StandInBackend) -> StandInBackend:
        backends.append(backend)
        monkeypatch.setattr(engines.tune.run, "backend_for", lambda method: backend)
        return backend

    return use


def settings(tmp_path, **flags):
    return load_settings({"use_dummy_data": True, "smoke_test": True, "output_dir": str(tmp_path / "out"), **flags})


def test_a_search_writes_the_guides_json_the_table_the_studies_and_the_summary(tmp_path, stand_in, capsys):
    stand_in(StandInBackend([record("a", "complete", 0.6), record("b", "stopped_early", 0.4)]))
    assert engines.tune.run.run_tune(settings(tmp_path)) == 0
    folder = tmp_path / "out" / "tuning" / "stand-in"
    best = json.loads((tmp_path / "out" / "best_hyperparameters.json").read_text())
    assert best["metadata"]["best_score"] == 0.6 and best["metadata"]["trials"] == 2
    summary = json.loads((folder / "summary.json").read_text())
    assert (summary["complete"], summary["stopped_early"], summary["best_trial"]) == (1, 1, "a")
    assert json.loads((folder / "config.json").read_text())["name"] == "stand-in"
    assert (folder / "trials.parquet").is_file()
    assert "Best trial a: val_accuracy 60.0%" in capsys.readouterr().out


def test_an_existing_experiment_is_refused_without_resume_and_nothing_is_overwritten(tmp_path, stand_in):
    backend = stand_in(StandInBackend([record("a", "complete", 0.6)]))
    assert engines.tune.run.run_tune(settings(tmp_path, name="e1")) == 0
    best = tmp_path / "out" / "best_hyperparameters.json"
    before = best.read_text()
    with pytest.raises(InputError, match="experiment 'e1' already exists .* pass --resume"):
        engines.tune.run.run_tune(settings(tmp_path, name="e1"))
    assert best.read_text() == before and len(backend.searched) == 1


def test_resume_of_an_experiment_that_does_not_exist_is_refused_before_anything_is_written(tmp_path, stand_in):
    stand_in(StandInBackend())
    with pytest.raises(InputError, match="--resume: no experiment named 'nope'"):
        engines.tune.run.run_tune(settings(tmp_path, name="nope", resume=True))
    assert not (tmp_path / "out").exists()


def test_a_folder_without_config_is_not_taken_for_an_experiment(tmp_path, stand_in):
    stand_in(StandInBackend())
    (tmp_path / "out" / "tuning" / "stray").mkdir(parents=True)
    with pytest.raises(InputError, match="holds no experiment"):
        engines.tune.run.run_tune(settings(tmp_path, name="stray", resume=True))


def test_resume_takes_the_saved_settings_and_refuses_a_flag_that_would_change_them(tmp_path, stand_in):
    backend = stand_in(StandInBackend([record("a", "complete")]))
    assert engines.tune.run.run_tune(settings(tmp_path, name="e1", searcher="hyperopt", max_trials=2)) == 0
    with pytest.raises(InputError, match="was run with --searcher 'hyperopt', got 'bayesopt'"):
        engines.tune.run.run_tune(settings(tmp_path, name="e1", resume=True, searcher="bayesopt"))
    assert engines.tune.run.run_tune(settings(tmp_path, name="e1", resume=True)) == 0
    resumed = backend.searched[-1].settings
    assert (resumed.searcher, resumed.max_trials, resumed.resume) == ("hyperopt", 2, True)


def test_another_method_cannot_continue_an_experiment(tmp_path, stand_in):
    stand_in(StandInBackend([record("a", "complete")]))
    assert engines.tune.run.run_tune(settings(tmp_path, name="e1")) == 0
    saved = tmp_path / "out" / "tuning" / "e1" / "config.json"
    saved.write_text(json.dumps({**json.loads(saved.read_text()), "method": "keras-tuner"}))
    with pytest.raises(InputError, match="was run with --method keras-tuner, got ray; continue it with --method"):
        engines.tune.run.run_tune(settings(tmp_path, name="e1", resume=True))


def test_the_backends_own_check_runs_before_anything_is_written(tmp_path, stand_in):
    stand_in(StandInBackend())
    with pytest.raises(InputError, match="--searcher must be one of"):
        engines.tune.run.run_tune(settings(tmp_path, searcher="genetic"))
    assert not (tmp_path / "out").exists()


def test_a_space_file_the_model_cannot_build_is_refused_before_anything_is_written(tmp_path, stand_in):
    stand_in(StandInBackend())
    space = tmp_path / "space.yaml"
    space.write_text("kernel_size: {choices: [9]}\n")
    with pytest.raises(InputError, match="kernel_size=9"):
        engines.tune.run.run_tune(settings(tmp_path, space=str(space)))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("outcome", "code", "line"),
    [
        ({"records": [record("a", "complete"), record("b", "failed", None, "ValueError: x")]}, 0, None),
        ({"records": [record("a", "failed", None, "ValueError: boom")]}, 1, "all 1 trials failed; first reason: ValueError: boom"),
        ({"records": []}, 1, "no trial ran"),
        ({"records": [record("a", "complete"), record("b", "running", None)], "interrupted": True}, 130, None),
        ({"records": [record("a", "failed", None, "ValueError: boom")], "fatal": "error: the engine gave up"}, 1,
         "error: the engine gave up; first reason: ValueError: boom"),
    ],
)
def test_the_exit_code_says_how_the_search_ended(tmp_path, stand_in, capsys, outcome, code, line):
    records = outcome.pop("records")
    stand_in(StandInBackend(records, **outcome))
    assert engines.tune.run.run_tune(settings(tmp_path)) == code
    out = capsys.readouterr().out
    if line:
        assert line in out


def test_an_error_that_stopped_the_search_is_raised_after_the_finished_trials_are_written(tmp_path, stand_in):
    stand_in(StandInBackend([record("a", "complete", 0.7)], stopped=KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        engines.tune.run.run_tune(settings(tmp_path))
    assert json.loads((tmp_path / "out" / "best_hyperparameters.json").read_text())["metadata"]["best_score"] == 0.7


def test_an_interrupted_search_keeps_the_finished_ones_best_hyperparameters_and_writes_its_own(tmp_path, stand_in, capsys):
    stand_in(StandInBackend([record("a", "complete", 0.6)]))
    assert engines.tune.run.run_tune(settings(tmp_path, name="first")) == 0
    users = tmp_path / "out" / "best_hyperparameters.json"
    before = users.read_text()
    assert json.loads(before)["metadata"]["experiment_name"] == "first"

    stand_in(StandInBackend([record("a", "complete", 0.4), record("b", "running", None)], interrupted=True))
    assert engines.tune.run.run_tune(settings(tmp_path, name="second")) == 130
    assert users.read_text() == before  # an unfinished search's best so far never replaces a finished one's
    own = tmp_path / "out" / "tuning" / "second" / "best_hyperparameters.json"
    assert json.loads(own.read_text())["metadata"]["experiment_finished"] is False
    assert f"Best so far: {own} (the experiment is not finished" in capsys.readouterr().out


def test_a_smoke_test_after_a_full_run_leaves_the_full_runs_best_hyperparameters_byte_for_byte(tmp_path, stand_in,
                                                                                             capsys):
    users = tmp_path / "out" / "best_hyperparameters.json"
    users.parent.mkdir(parents=True)
    users.write_text(json.dumps({"hyperparameters": {"learning_rate": 0.003},
                                 "metadata": {"smoke_test": False, "best_score": 0.81, "trials": 100}}, indent=1))
    before = users.read_bytes()
    stand_in(StandInBackend([record("a", "complete", 0.4)]))
    assert engines.tune.run.run_tune(settings(tmp_path, name="smoke")) == 0
    assert users.read_bytes() == before
    own = tmp_path / "out" / "tuning" / "smoke" / "best_hyperparameters.json"
    assert json.loads(own.read_text())["metadata"]["smoke_test"] is True
    assert f"Best hyperparameters: {own} (a --smoke-test result: {users} keeps the full run's" in capsys.readouterr().out


def test_a_smoke_test_replaces_an_earlier_smoke_tests_best_hyperparameters(tmp_path, stand_in):
    stand_in(StandInBackend([record("a", "complete", 0.4)]))
    assert engines.tune.run.run_tune(settings(tmp_path, name="smoke-1")) == 0
    stand_in(StandInBackend([record("a", "complete", 0.5)]))
    assert engines.tune.run.run_tune(settings(tmp_path, name="smoke-2")) == 0
    metadata = json.loads((tmp_path / "out" / "best_hyperparameters.json").read_text())["metadata"]
    assert (metadata["experiment_name"], metadata["smoke_test"], metadata["best_score"]) == ("smoke-2", True, 0.5)
    assert "smoke test" in metadata["data"]


class FinishedBackend(StandInBackend):
    def already_done(self, settings, paths):
        return f"Experiment '{paths.name}' already finished; nothing to resume."


def test_resume_of_a_finished_experiment_refuses_a_conflicting_flag_and_otherwise_says_it_is_done(
        tmp_path, stand_in, capsys):
    stand_in(StandInBackend([record("a", "complete")]))
    assert engines.tune.run.run_tune(settings(tmp_path, name="e1", searcher="hyperopt")) == 0
    backend = stand_in(FinishedBackend())
    with pytest.raises(InputError, match="was run with --searcher 'hyperopt', got 'random'"):
        engines.tune.run.run_tune(settings(tmp_path, name="e1", resume=True, searcher="random"))
    capsys.readouterr()
    assert engines.tune.run.run_tune(settings(tmp_path, name="e1", resume=True)) == 0
    assert "already finished" in capsys.readouterr().out and backend.searched == []


def test_a_diverged_trial_is_counted_apart_and_never_recommended(tmp_path, stand_in, capsys):
    diverged = record("d", "diverged", 0.9, "NonFiniteLossError: loss became nan at epoch 2")
    stand_in(StandInBackend([record("a", "complete", 0.5), diverged, record("f", "failed", None, "ValueError: x")]))
    assert engines.tune.run.run_tune(settings(tmp_path)) == 0
    summary = json.loads((tmp_path / "out" / "tuning" / "stand-in" / "summary.json").read_text())
    assert (summary["complete"], summary["failed"], summary["diverged"], summary["best_trial"]) == (1, 1, 1, "a")
    assert "1 complete, 0 stopped early, 1 failed after retries, 1 diverged" in capsys.readouterr().out

    stand_in(StandInBackend([diverged]))
    assert engines.tune.run.run_tune(settings(tmp_path, name="only-diverged")) == 1
    assert "no trial finished (0 failed, 1 diverged)" in capsys.readouterr().out


class StoringBackend(StandInBackend):
    """A stand-in that keeps its experiment in --storage, as Ray does."""

    uses_storage = True

    def has_state(self, settings, paths):
        from pathlib import Path

        return (Path(paths.ray) / "eeg_experiment_config.json").is_file()


def test_a_resume_on_a_clean_output_dir_compares_against_the_config_kept_in_storage(tmp_path, stand_in):
    import shutil

    backend = stand_in(StoringBackend([record("a", "complete")]))
    storage = str(tmp_path / "storage")
    assert engines.tune.run.run_tune(settings(tmp_path, name="e1", searcher="hyperopt", storage=storage)) == 0
    assert (tmp_path / "storage" / "e1" / "eeg_outputs" / "best_hyperparameters.json").is_file()
    shutil.rmtree(tmp_path / "out")  # a new head: the local copy is gone
    with pytest.raises(InputError, match="was run with --searcher 'hyperopt', got 'bayesopt'"):
        engines.tune.run.run_tune(settings(tmp_path, name="e1", resume=True, searcher="bayesopt", storage=storage))
    with pytest.raises(InputError, match="was run with --split 'trial', got 'subject'"):
        engines.tune.run.run_tune(settings(tmp_path, name="e1", resume=True, split="subject", storage=storage))
    assert not (tmp_path / "out").exists()
    assert engines.tune.run.run_tune(settings(tmp_path, name="e1", resume=True, storage=storage)) == 0
    assert backend.searched[-1].settings.searcher == "hyperopt"


def test_a_storage_that_fails_at_the_end_keeps_the_local_outputs_and_says_how_to_fetch_them(
        tmp_path, stand_in, monkeypatch, capsys):
    from engines.experiment.storage import StorageError

    stand_in(StoringBackend([record("a", "complete", 0.6)]))

    def fail(paths, best_file):
        raise StorageError(f"--storage: could not copy the outputs to {paths.ray}/eeg_outputs (server gone)")

    monkeypatch.setattr(engines.tune.run, "upload_outputs", fail)
    code = engines.tune.run.run_tune(settings(tmp_path, name="e1", storage=str(tmp_path / "storage")))
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "server gone" in err and "make results NAME=e1" in err and "--resume --name e1" in err
    assert (tmp_path / "out" / "best_hyperparameters.json").is_file()
    assert (tmp_path / "out" / "tuning" / "e1" / "trials.parquet").is_file()


def test_a_storage_that_fails_during_the_search_is_one_line_and_exit_1(tmp_path, stand_in, capsys):
    from engines.experiment.storage import StorageError

    class StorageGone(StoringBackend):
        def search(self, run):
            raise StorageError(f"--storage: {run.paths.ray} stopped answering during the search (refused)")

    stand_in(StorageGone())
    assert engines.tune.run.run_tune(settings(tmp_path, name="e1", storage=str(tmp_path / "storage"))) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "stopped answering" in err and "--resume --name e1" in err
    assert (tmp_path / "out" / "tuning" / "e1" / "config.json").is_file()
