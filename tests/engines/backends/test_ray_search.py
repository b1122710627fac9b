"""``check_pairing``: searcher/scheduler/checkpoint combinations that cannot work are refused before anything runs."""

from __future__ import annotations

import itertools

import pytest

from eeg.errors import InputError
from engines.backends.ray_search import SCHEDULERS, SEARCHERS, build_scheduler, build_search, check_pairing


@pytest.mark.parametrize("scheduler", [s for s in SCHEDULERS if s != "bohb"])
def test_the_bohb_searcher_is_refused_without_the_bohb_scheduler(scheduler):
    with pytest.raises(InputError) as error:
        check_pairing("bohb", scheduler, checkpoint=True)
    message = str(error.value)
    assert message == (
        "--searcher bohb needs --scheduler bohb (BOHB's model-based sampling relies on the HyperBand brackets "
        f"of HyperBandForBOHB), got --scheduler {scheduler}"
    )
    assert "\n" not in message


@pytest.mark.parametrize("searcher", [s for s in SEARCHERS if s != "bohb"])
def test_the_bohb_scheduler_is_refused_without_the_bohb_searcher(searcher):
    with pytest.raises(InputError) as error:
        check_pairing(searcher, "bohb", checkpoint=True)
    assert str(error.value) == (
        "--scheduler bohb needs --searcher bohb (HyperBandForBOHB expects TuneBOHB to pause and resume its "
        f"trials), got --searcher {searcher}"
    )


def test_bohb_with_asha_names_both_flags():
    with pytest.raises(InputError, match=r"^--searcher bohb needs --scheduler bohb .*got --scheduler asha$"):
        check_pairing("bohb", "asha", checkpoint=True)
    with pytest.raises(InputError, match=r"^--scheduler bohb needs --searcher bohb .*got --searcher optuna$"):
        check_pairing("optuna", "bohb", checkpoint=True)


def test_hyperband_without_checkpoints_is_refused():
    with pytest.raises(InputError) as error:
        check_pairing("optuna", "hyperband", checkpoint=False)
    assert str(error.value) == (
        "--scheduler hyperband needs per-epoch checkpoints (HyperBand pauses trials between brackets) but "
        "checkpointing is off (checkpoint: false); turn it on or use asha, median or fifo"
    )


def test_bohb_without_checkpoints_is_refused_because_it_pauses_trials_too():
    with pytest.raises(InputError) as error:
        check_pairing("bohb", "bohb", checkpoint=False)
    assert str(error.value) == (
        "--scheduler bohb needs per-epoch checkpoints (HyperBandForBOHB pauses trials between brackets) but "
        "checkpointing is off (checkpoint: false); turn it on or use another --searcher with asha, median or fifo"
    )


def test_unknown_searchers_and_schedulers_are_refused_with_the_valid_names():
    with pytest.raises(InputError, match=r"--searcher must be one of optuna, .*bohb.*, got 'tpe'"):
        check_pairing("tpe", "asha", checkpoint=True)
    with pytest.raises(InputError, match=r"--scheduler must be one of asha, .*bohb.*, got 'pbt'"):
        check_pairing("optuna", "pbt", checkpoint=True)


def test_every_other_pairing_with_checkpoints_is_accepted():
    accepted = []
    for searcher, scheduler in itertools.product(SEARCHERS, SCHEDULERS):
        try:
            check_pairing(searcher, scheduler, checkpoint=True)
        except InputError:
            continue
        accepted.append((searcher, scheduler))
    bohb = [pair for pair in accepted if "bohb" in pair]
    assert bohb == [("bohb", "bohb")]
    assert len(accepted) == (len(SEARCHERS) - 1) * (len(SCHEDULERS) - 1) + 1


def test_bohb_builds_ray_tune_bohb_and_hyperband_for_bohb():
    pytest.importorskip("hpbandster")
    from ray.tune.schedulers import HyperBandForBOHB
    from ray.tune.search.bohb import TuneBOHB

    from search_spaces import SPACE

    search = build_search("bohb", SPACE, max_trials=4, seed=0, defaults={})
    # wrapped so a trial culled while paused still hands BOHB its last result
    assert isinstance(search.search_alg.searcher, TuneBOHB) and search.param_space == {} and search.num_samples == 4
    config = search.search_alg.suggest("t0")
    SPACE.validate_config(search.decode(config))
    assert isinstance(build_scheduler("bohb", max_epochs=9, grace_period=1), HyperBandForBOHB)


def test_tpe_with_a_live_study_writes_each_trial_as_it_runs_and_drops_a_stale_study(tmp_path):
    import optuna

    from eeg.model import DEFAULT_HPARAMS
    from search_spaces import get_space

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    stale = optuna.create_study(study_name="live", storage=url, direction="maximize")
    stale.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.9))  # a deleted experiment's
    search = build_search("optuna", get_space(), max_trials=3, seed=0, defaults=DEFAULT_HPARAMS,
                          live_study=(url, "live"))
    searcher = search.search_alg
    config = searcher.suggest("t1")
    assert "learning_rate" in config
    searcher.on_trial_result("t1", {"val_accuracy": 0.4, "training_iteration": 1})
    trials = optuna.load_study(study_name="live", storage=url).trials
    assert [(t.state.name, t.intermediate_values) for t in trials] == [("RUNNING", {1: 0.4})]  # read mid-run
    assert trials[0].params["learning_rate"] == config["learning_rate"]
    searcher.on_trial_complete("t1", {"val_accuracy": 0.5, "training_iteration": 2})
    searcher.suggest("t2")
    trials = optuna.load_study(study_name="live", storage=url).trials
    assert [(t.state.name, t.value) for t in trials] == [("COMPLETE", 0.5), ("RUNNING", None)]
