"""``--objective accuracy,latency`` (``engines.tune.pareto``): the non-dominated trials, and the knee recommended."""

from __future__ import annotations

from engines.experiment.records import TrialRecord
from engines.tune.pareto import front_document, knee, pareto_front


def _trial(trial_id, accuracy, latency, status="complete"):
    return TrialRecord(trial_id=trial_id, params={"model_family": "svm"}, status=status, best_val_accuracy=accuracy,
                       latency_ms=latency, n_params=10)


def test_the_front_keeps_only_trials_no_other_beats_on_both_and_sorts_them_by_latency():
    records = [_trial("fast", 0.60, 0.2), _trial("slow_best", 0.90, 50.0), _trial("dominated", 0.55, 1.0),
               _trial("middle", 0.85, 5.0), _trial("tie_slower", 0.60, 0.3), _trial("failed", 0.99, 0.1, "failed"),
               TrialRecord(trial_id="no_latency", params={}, status="complete", best_val_accuracy=0.95)]
    assert [r.trial_id for r in pareto_front(records)] == ["fast", "middle", "slow_best"]


def test_the_knee_is_the_best_trade_off_not_the_most_accurate_trial():
    front = pareto_front([_trial("fast", 0.60, 0.2), _trial("middle", 0.85, 5.0), _trial("slow_best", 0.90, 50.0)])
    assert knee(front).trial_id == "middle"
    assert knee([]) is None and knee(front[:1]).trial_id == "fast"


def test_the_front_document_names_the_knee_and_holds_each_configuration():
    front = pareto_front([_trial("a", 0.6, 0.2), _trial("b", 0.9, 9.0)])
    document = front_document(front, front[0])
    assert document["knee_trial"] == "a" and [p["trial_id"] for p in document["front"]] == ["a", "b"]
    assert document["front"][0]["hyperparameters"] == {"model_family": "svm"} and document["front"][1]["n_params"] == 10
