"""The trainable reports every epoch with a checkpoint, continues from one, and fails cleanly on a NaN loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest



@pytest.fixture(scope="module")
def tuning_data():
    from eeg.splits import make_split
    from eeg.synthetic import make_dummy_dataset
    from eeg.training import prepare_data

    dataset = make_dummy_dataset(smoke_test=True)
    return prepare_data(dataset, make_split(dataset, "trial")).without_test()


def _tuner(trainable, param_space, tmp_path, max_failures=1, **tune_config):
    from ray import tune

    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(metric="val_accuracy", mode="max", **tune_config),
        run_config=tune.RunConfig(
            name="t", storage_path=str(tmp_path), verbose=0, failure_config=tune.FailureConfig(max_failures=max_failures)
        ),
    )


@pytest.mark.slow  # a Ray experiment
def test_a_nan_loss_ends_that_trial_once_as_diverged_and_the_experiment_goes_on(local_ray, tuning_data, tmp_path):
    from ray import tune

    from engines.backends.ray_tune_run import collect_records
    from search_spaces.cnn_lstm import SPACE
    from trainables.cnn_lstm import train_cnn_lstm

    trainable = tune.with_parameters(train_cnn_lstm, data=tuning_data, max_epochs=2)
    # An absurd L2 penalty overflows the loss to inf/NaN on the first batch.
    space = {"l2": tune.grid_search([0.0, 1e38]), "n_conv_blocks": 1, "use_lstm": False}
    grid = _tuner(trainable, space, tmp_path, max_failures=3).fit()
    records = {r.params["l2"]: r for r in collect_records(grid, SPACE, None, max_epochs=2)}
    assert records[0.0].status == "complete" and records[0.0].epochs == 2
    diverged = records[1e38]
    assert (diverged.status, diverged.epochs, diverged.retries) == ("diverged", 1, 0)  # retries left unused
    assert "NonFiniteLossError" in diverged.failure_reason and "loss became" in diverged.failure_reason


def crash_once_after_the_first_epoch(config, data, marker):
    """Runs one epoch (checkpointed), then crashes once; the retry must continue at epoch 2."""
    from trainables.cnn_lstm import train_cnn_lstm

    if not Path(marker).exists():
        train_cnn_lstm(config, data, max_epochs=1)
        Path(marker).touch()
        raise RuntimeError("simulated node loss")
    train_cnn_lstm(config, data, max_epochs=3)


@pytest.mark.slow  # a Ray experiment
def test_a_restored_trial_continues_at_the_next_epoch_from_its_checkpoint(local_ray, tuning_data, tmp_path):
    from ray import tune

    trainable = tune.with_parameters(crash_once_after_the_first_epoch, data=tuning_data, marker=str(tmp_path / "crashed"))
    grid = _tuner(trainable, {"n_conv_blocks": 1, "use_lstm": False}, tmp_path).fit()
    result = grid[0]
    assert result.error is None
    epochs = list(result.metrics_dataframe["epoch"])
    # Ray may keep only the reports after the restart ([2, 3]) or all of them ([1, 2, 3]); either
    # way epoch 1 was not trained again after the crash and the trial went on to epoch 3.
    assert epochs in ([1, 2, 3], [2, 3]), epochs
    assert result.checkpoint is not None


@pytest.mark.slow  # a Ray experiment
def test_every_epoch_reports_the_metrics_the_schedulers_and_the_table_read(local_ray, tuning_data, tmp_path):
    from ray import tune

    from trainables.cnn_lstm import train_cnn_lstm

    trainable = tune.with_parameters(train_cnn_lstm, data=tuning_data, max_epochs=2)
    grid = _tuner(trainable, {"n_conv_blocks": 1, "use_lstm": False}, tmp_path).fit()
    frame = grid[0].metrics_dataframe
    for column in ("val_accuracy", "val_loss", "accuracy", "loss", "epoch", "node_id", "setup_s"):
        assert frame[column].notna().all(), column
    assert len(frame) == 2


@pytest.mark.slow  # a Ray experiment
def test_a_trial_checkpoints_every_n_epochs_but_reports_every_epoch(local_ray, tuning_data, tmp_path):
    from ray import tune

    from trainables.cnn_lstm import train_cnn_lstm

    trainable = tune.with_parameters(train_cnn_lstm, data=tuning_data, max_epochs=3, checkpoint_every=2)
    grid = _tuner(trainable, {"n_conv_blocks": 1, "use_lstm": False}, tmp_path).fit()
    assert list(grid[0].metrics_dataframe["epoch"]) == [1, 2, 3]
    saved = sorted(Path(grid[0].path).glob("checkpoint_*/state.json"))
    assert [json.loads(p.read_text())["epoch"] for p in saved] == [2]


def test_the_auto_checkpoint_policy_saves_first_then_once_training_outweighs_saving_twenty_times():
    from trainables.cnn_lstm import CheckpointPolicy

    policy, saved_at = CheckpointPolicy("auto"), []
    for epoch in range(1, 13):
        policy.trained(1.0)  # one-second epochs with a quarter-second save: a save every 5 epochs
        if policy.due(epoch):
            saved_at.append(epoch)
            policy.saved(0.25)
    assert saved_at == [1, 6, 11]
    slow = CheckpointPolicy("auto")  # real EEG: a 30 s epoch, a 0.3 s save: every epoch
    for epoch in range(1, 4):
        slow.trained(30.0)
        assert slow.due(epoch)
        slow.saved(0.3)
    assert [e for e in range(1, 7) if CheckpointPolicy(2).due(e)] == [2, 4, 6]



class _OneCpuTrial:
    """Ray's runtime context as a trial given one CPU sees it."""

    def get_node_id(self) -> str:
        return "node"

    def get_assigned_resources(self) -> dict[str, float]:
        return {"CPU": 1.0}


def test_a_trial_ray_stops_leaves_its_thread_at_once_and_the_next_trial_frees_its_model(tuning_data, monkeypatch):
    """Ray stops a trial with SystemExit from tune.report; with actor reuse the next trial's reset waits only 2 s
    for the thread. The stopped fit's TensorFlow objects are kept past the thread's end and freed by the next trial."""
    import gc
    import threading
    import weakref

    import ray
    from ray import tune

    import eeg.model
    from trainables.cnn_lstm import train_cnn_lstm

    built, seen_at_report = [], []

    def build_and_watch(*args, **kwargs):
        model = build_model(*args, **kwargs)
        built.append(weakref.ref(model))
        return model

    def report_then_stop(metrics, checkpoint=None):
        gc.collect()
        seen_at_report.append([ref() is not None for ref in built])
        raise SystemExit(0)  # what Ray's session does in report once the trial is to stop

    build_model = eeg.model.build_model
    monkeypatch.setattr(eeg.model, "build_model", build_and_watch)
    monkeypatch.setattr(tune, "report", report_then_stop)
    monkeypatch.setattr(tune, "get_checkpoint", lambda: None)
    monkeypatch.setattr(ray, "get_runtime_context", lambda: _OneCpuTrial())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # the trainable sets it for a trial given no GPU
    ended = []

    def one_trial():  # as Ray's runner thread: SystemExit(0) ends the trial quietly
        try:
            train_cnn_lstm({"n_conv_blocks": 1, "use_lstm": False}, tuning_data, max_epochs=3, checkpoint=False)
        except SystemExit as stop:
            ended.append(stop.code)

    for _ in range(2):
        thread = threading.Thread(target=one_trial)
        thread.start()
        thread.join()
        gc.collect()
        assert ended[-1:] == [0]
        assert built[-1]() is not None  # the stopped trial's model outlives its thread (freed later, not in Ray's wait)
    # The second trial had freed the first trial's model before its first report.
    assert seen_at_report == [[True], [False, True]]
