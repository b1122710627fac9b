"""The node's feature cache (``eeg.feature_cache``): computed once per data and preprocessing, the same arrays when
read back, a fresh key for any change, and whole files only, even with two processes writing at once."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace

import numpy as np
import pytest

from eeg.feature_cache import cache_key, cached_features, default_cache_dir, recordings_fingerprint
from eeg.pipeline import Preprocessing
from eeg.synthetic import SyntheticConfig, generate_raw

SMOKE = SyntheticConfig(n_subjects=3, trials_per_class=2, trial_seconds=12.0)


@pytest.fixture(scope="module")
def raw():
    return generate_raw(SMOKE)


def test_the_first_call_computes_and_writes_the_second_reads_the_same_arrays(raw, tmp_path):
    first, first_cached = cached_features(raw, Preprocessing(), cache_dir=tmp_path)
    second, second_cached = cached_features(raw, Preprocessing(), cache_dir=tmp_path)
    assert (first_cached, second_cached) == (False, True)
    for name in ("X", "y", "subject", "trial"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert second.class_names == tuple(raw.class_names)
    assert [p.name for p in tmp_path.iterdir()] == [f"{cache_key(recordings_fingerprint(raw), Preprocessing())}.npz"]


def test_other_preprocessing_or_other_data_misses(raw, tmp_path):
    fingerprint = recordings_fingerprint(raw)
    keys = {cache_key(fingerprint, Preprocessing()), cache_key(fingerprint, Preprocessing(window_s=1.0)),
            cache_key(fingerprint, Preprocessing(subject_norm="per_subject"))}
    other = replace(raw, signals=raw.signals.copy())
    other.signals[0, 0, 0] += 1.0
    keys.add(cache_key(recordings_fingerprint(other), Preprocessing()))
    assert len(keys) == 4
    assert recordings_fingerprint(replace(raw, signals=raw.signals.copy())) == fingerprint


def test_an_unreadable_entry_is_computed_again_and_replaced(raw, tmp_path):
    cached_features(raw, Preprocessing(), cache_dir=tmp_path)
    (entry,) = tmp_path.iterdir()
    entry.write_bytes(b"half a file")
    dataset, cached = cached_features(raw, Preprocessing(), cache_dir=tmp_path)
    assert not cached and dataset.X.ndim == 3
    assert cached_features(raw, Preprocessing(), cache_dir=tmp_path)[1]


def _compute(folder: str, queue) -> None:
    dataset, cached = cached_features(generate_raw(SMOKE), Preprocessing(feature_set="de"), cache_dir=folder)
    queue.put((cached, float(dataset.X.sum())))


def test_two_processes_asking_at_once_both_get_whole_features_and_leave_one_file(tmp_path):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_compute, args=(str(tmp_path), queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert results[0][1] == results[1][1]
    assert len([p for p in tmp_path.iterdir()]) == 1  # no temporary file left behind
    assert cached_features(generate_raw(SMOKE), Preprocessing(feature_set="de"), cache_dir=tmp_path)[1]


def test_the_default_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("EEG_FEATURE_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("EEG_FEATURE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "eeg_emotion_tuning" / "features"
