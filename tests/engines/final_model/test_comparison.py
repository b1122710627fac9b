"""What every final accuracy is printed beside: the classical baselines, the verdict, and the selection noise."""

from __future__ import annotations

import json

import pytest

from engines.final_model.comparison import (
    baseline_comparison_lines,
    interval_text,
    mean_interval,
    selection_line,
    tuned_metadata,
    verdict,
)


def test_the_mean_comes_with_a_t_interval_from_two_values_on():
    assert mean_interval([0.5]) == (0.5, None)
    assert mean_interval([0.5, 0.5]) == (0.5, (0.5, 0.5))
    mean, (low, high) = mean_interval([0.4, 0.5, 0.6])
    assert mean == pytest.approx(0.5) and low < 0.5 < high


@pytest.mark.parametrize(("interval", "words"), [(None, "one run cannot tell"), ((0.01, 0.05), "beats it"),
                                                 ((-0.05, -0.01), "worse than it"), ((-0.01, 0.02), "includes zero")])
def test_the_verdict_reads_the_interval_of_tuned_minus_baseline(interval, words):
    assert words in verdict(interval)


def test_the_tuned_model_is_compared_with_the_best_baseline():
    lines = baseline_comparison_lines([0.7, 0.72], {"logistic regression": [0.5, 0.5], "RBF-SVM": [0.6, 0.6]}, "seeds")
    assert lines[0] == "Best classical baseline: RBF-SVM 60.0%"
    assert lines[1].startswith("Tuned vs RBF-SVM: +11.0 points")
    assert interval_text(None, 1, "seeds") == "no CI with one seed; use 3 or more"


def test_the_selection_line_sets_the_best_validation_score_against_the_final_one(tmp_path):
    path = tmp_path / "best.json"
    path.write_text(json.dumps({"hyperparameters": {}, "metadata": {"best_score": 0.846}}))
    metadata = tuned_metadata(str(path))
    assert selection_line(metadata, 0.795, "test").endswith("vs tuned test accuracy 79.5%: -5.1 points; optimism +5.1 points")
    assert tuned_metadata(None) == {} and tuned_metadata(str(tmp_path / "missing.json")) == {}
    assert selection_line({}, 0.5, "test") is None


def test_a_search_too_small_to_expect_a_gain_is_said_with_a_command_large_enough():
    from engines.final_model.comparison import small_search_line

    line = small_search_line({"trials": 5, "max_epochs": 8})
    assert line.startswith("note: the search behind this file was small (5 trials of up to 8 epochs)")
    assert "--max-trials 100 --max-epochs 30" in line
    assert "a smoke test" in small_search_line({"trials": 40, "max_epochs": 30, "smoke_test": True})
    assert small_search_line({"trials": 100, "max_epochs": 30}) is None and small_search_line({}) is None
