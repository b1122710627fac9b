"""``train``/``verify`` of a pipeline configuration (``engines.final_model.pipeline_final``): the paired interval
to the best baseline per test unit, and the units it pairs on."""

from __future__ import annotations

import numpy as np
import pytest

from engines.final_model.pipeline_final import _by_unit, paired_unit_interval


def test_the_paired_interval_holds_the_mean_gain_and_excludes_zero_for_a_clear_win():
    rng = np.random.default_rng(0)
    baseline = {f"r{i}": float(v) for i, v in enumerate(rng.uniform(0.3, 0.6, 40))}
    tuned = {unit: value + 0.2 + float(rng.normal(0, 0.05)) for unit, value in baseline.items()}
    gain, (low, high), n = paired_unit_interval(tuned, baseline)
    assert n == 40 and low < gain < high and low > 0.1 and high < 0.3


def test_only_units_both_score_are_paired_and_too_few_give_no_interval():
    gain, interval, n = paired_unit_interval({"a": 0.5, "b": 0.7, "c": 0.9}, {"a": 0.4, "b": 0.6})
    assert n == 2 and interval is None and gain == pytest.approx(0.1)
    assert paired_unit_interval({"a": 1.0, "b": 1.0, "c": 1.0}, {"a": 0.5, "b": 0.5, "c": 0.5})[1] == (0.5, 0.5)


def test_a_trial_split_pairs_recordings_and_a_subject_split_pairs_subjects():
    per_recording = {(1, 0): 1.0, (1, 1): 0.5, (2, 0): 0.0}
    assert _by_unit(per_recording, "trial") == {"1:0": 1.0, "1:1": 0.5, "2:0": 0.0}
    assert _by_unit(per_recording, "subject") == {"1": 0.75, "2": 0.0}
