"""Contract tests: every translator, sampled by its real backend, yields valid model configs.

Each backend draws ~20 configs from the built-in space and from a narrowed override of it;
every config must be a point of *that* space (values in range or among the choices, ints
are ``int``, every active parameter present) and must pass ``eeg.model.resolve_hparams``.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from search_spaces import (
    SPACE,
    SearchSpace,
    SpaceError,
    apply_space_overrides,
    build_keras_tuner_hparams,
    decode_bayesopt,
    decode_config,
    decode_configspace,
    optuna_define_by_run,
    optuna_distributions,
    suggest_optuna,
    to_bayesopt_bounds,
    to_configspace,
    to_hyperopt_space,
    to_ray_grid,
    to_ray_param_space,
)
from search_spaces.pipeline import SPACE as PIPELINE_SPACE
from search_spaces.space import Bool, Float, Int

N = 20
# A narrowed space, as a user's --space file would give: every backend must follow it.
NARROW = apply_space_overrides(
    {
        "learning_rate": {"low": 1e-4, "high": 1e-3},
        "cnn_filters_0": {"low": 16, "high": 64, "step": 16},
        "kernel_size": {"choices": [5, 7]},
        "optimizer": {"choices": ["adamw"]},
        "use_lstm": {"choices": [True]},
        "dense_units_1": {"low": 8, "high": 12, "log": True, "step": 1},
        "cnn_dropout": {"high": 0.1},
    },
    SPACE,
    where="narrow.yaml",
)
SPACES = {"built_in": SPACE, "narrowed": NARROW, "pipeline": PIPELINE_SPACE}


# --- one sampler per backend: space -> list of configs -------------------------------------


def sample_ray(space: SearchSpace) -> list[dict[str, Any]]:
    domains = to_ray_param_space(space)
    rng = np.random.default_rng(0)
    return [{name: d.sample(random_state=rng) for name, d in domains.items()} for _ in range(N)]


def sample_ray_grid(space: SearchSpace) -> list[dict[str, Any]]:
    defaults = {p.name: _some_value(p) for p in space}
    grid = to_ray_grid(space, defaults)
    axes = {k: v["grid_search"] for k, v in grid.items() if isinstance(v, dict)}
    fixed = {k: v for k, v in grid.items() if k not in axes}
    return [{**fixed, **dict(zip(axes, combo))} for combo in itertools.product(*axes.values())]


def sample_optuna(space: SearchSpace) -> list[dict[str, Any]]:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    configs = []
    for _ in range(N):
        trial = study.ask()
        configs.append(suggest_optuna(trial, space))
        study.tell(trial, 0.5)
    return configs


def sample_ray_optuna_search(space: SearchSpace) -> list[dict[str, Any]]:
    optuna = pytest.importorskip("optuna")
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    searcher = OptunaSearch(space=optuna_define_by_run(space), metric="val_accuracy", mode="max", seed=0)
    configs = []
    for i in range(6):
        configs.append(searcher.suggest(f"t{i}"))
        searcher.on_trial_complete(f"t{i}", {"val_accuracy": 0.1 * i})
    return configs


def sample_hyperopt(space: SearchSpace) -> list[dict[str, Any]]:
    from hyperopt.pyll import stochastic

    expr = to_hyperopt_space(space)
    return [stochastic.sample(expr, rng=np.random.default_rng(i)) for i in range(N)]


def sample_ray_hyperopt_search(space: SearchSpace) -> list[dict[str, Any]]:
    from ray.tune.search.hyperopt import HyperOptSearch

    searcher = HyperOptSearch(space=to_hyperopt_space(space), metric="val_accuracy", mode="max",
                              random_state_seed=0, n_initial_points=3)
    configs = []
    for i in range(6):  # past n_initial_points, so TPE proposes too
        configs.append(searcher.suggest(f"t{i}"))
        searcher.on_trial_complete(f"t{i}", {"val_accuracy": 0.1 * i})
    return configs


def sample_ray_converted(searcher_name: str, space: SearchSpace) -> list[dict[str, Any]]:
    """The engine may hand ``to_ray_param_space`` to a searcher given no space; Ray converts it."""
    optuna = pytest.importorskip("optuna")
    from ray.tune.search.hyperopt import HyperOptSearch
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    searcher = {"optuna": OptunaSearch, "hyperopt": HyperOptSearch}[searcher_name](metric="val_accuracy", mode="max")
    searcher.set_search_properties("val_accuracy", "max", to_ray_param_space(space))
    configs = []
    for i in range(N):
        configs.append(searcher.suggest(f"t{i}"))
        searcher.on_trial_complete(f"t{i}", {"val_accuracy": (i % 7) / 7})
    return configs


def sample_bayesopt(space: SearchSpace) -> list[dict[str, Any]]:
    bounds = to_bayesopt_bounds(space)
    rng = np.random.default_rng(0)
    points = [{k: lo for k, (lo, hi) in bounds.items()}, {k: hi for k, (lo, hi) in bounds.items()}]
    points += [{k: rng.uniform(lo, hi) for k, (lo, hi) in bounds.items()} for _ in range(N - 2)]
    return [decode_bayesopt(p, space) for p in points]


def sample_bayes_opt_library(space: SearchSpace) -> list[dict[str, Any]]:
    # Through Ray's BayesOptSearch, the way the engine uses bayesian-optimization.
    from ray.tune.search.bayesopt import BayesOptSearch

    searcher = BayesOptSearch(space=to_bayesopt_bounds(space), metric="val_accuracy", mode="max", random_state=0)
    configs = []
    for i in range(14):  # past the random warm-up steps, suggestions come from the fitted Gaussian process
        point = searcher.suggest(f"t{i}")
        configs.append(decode_config(point, space))
        searcher.on_trial_complete(f"t{i}", {"val_accuracy": float(i % 3)})
    return configs


def sample_configspace(space: SearchSpace) -> list[dict[str, Any]]:
    configspace = to_configspace(space, seed=0)
    return [decode_configspace(configspace.sample_configuration(), space) for _ in range(N)]


BOHB_TRIALS = 50  # enough finished results at one budget for hpbandster to fit its density model


def ray_bohb_search(space: SearchSpace) -> Any:
    """Ray's TuneBOHB after BOHB_TRIALS suggestions, each reported back as HyperBandForBOHB would."""
    pytest.importorskip("hpbandster")
    from ray.tune.search.bohb import TuneBOHB

    searcher = TuneBOHB(space=to_configspace(space, seed=0), metric="val_accuracy", mode="max", seed=0)
    searcher.sampled = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # hpbandster calls ConfigSpace's pre-1.0 names
        for i in range(BOHB_TRIALS):
            searcher.sampled.append(searcher.suggest(f"t{i}"))
            result = {"val_accuracy": (i % 7) / 7, "hyperband_info": {"budget": 1.0}}
            searcher.on_trial_result(f"t{i}", result)
            searcher.on_trial_complete(f"t{i}", result)
    return searcher


def sample_ray_bohb_search(space: SearchSpace) -> list[dict[str, Any]]:
    # Past the first ~21 results the suggestions come from BOHB's fitted densities, not the prior.
    return [decode_configspace(config, space) for config in ray_bohb_search(space).sampled]


def sample_keras_tuner(space: SearchSpace) -> list[dict[str, Any]]:
    kt = pytest.importorskip("keras_tuner")
    hp = kt.HyperParameters()
    build_keras_tuner_hparams(hp, space)
    oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("val_accuracy", "max"), max_trials=N, seed=0)
    oracle.hyperparameters = hp
    configs = []
    for i in range(N):
        values = oracle.populate_space(str(i))["values"]
        trial_hp = kt.HyperParameters()
        build_keras_tuner_hparams(trial_hp, space)  # register, as a HyperModel.build would
        trial_hp.values = dict(values)
        configs.append(build_keras_tuner_hparams(trial_hp, space))
    return configs


SAMPLERS: dict[str, Callable[[SearchSpace], list[dict[str, Any]]]] = {
    "ray": sample_ray,
    "ray_grid": sample_ray_grid,
    "optuna": sample_optuna,
    "ray_optuna_search": sample_ray_optuna_search,
    "hyperopt": sample_hyperopt,
    "ray_hyperopt_search": sample_ray_hyperopt_search,
    "ray_param_space_via_optuna_search": lambda space: sample_ray_converted("optuna", space),
    "ray_param_space_via_hyperopt_search": lambda space: sample_ray_converted("hyperopt", space),
    "bayesopt": sample_bayesopt,
    "bayes_opt_library": sample_bayes_opt_library,
    "keras_tuner": sample_keras_tuner,
    "configspace": sample_configspace,
    "ray_bohb_search": sample_ray_bohb_search,
}
_CACHE: dict[tuple[str, str], list[dict[str, Any]]] = {}


def samples(backend: str, space_name: str) -> list[dict[str, Any]]:
    if (backend, space_name) not in _CACHE:
        logging.getLogger("ray").setLevel(logging.ERROR)
        _CACHE[backend, space_name] = SAMPLERS[backend](SPACES[space_name])
    return _CACHE[backend, space_name]


def _some_value(param: Any) -> Any:
    if isinstance(param, (Float, Int)):
        return param.low
    return param.choices[0]


# --- the contract ---------------------------------------------------------------------------

BACKEND_AND_SPACE = [(b, s) for b in SAMPLERS for s in SPACES]


@pytest.mark.parametrize(("backend", "space_name"), BACKEND_AND_SPACE)
def test_every_sampled_config_is_a_point_of_the_space(backend, space_name):
    space = SPACES[space_name]
    configs = samples(backend, space_name)
    assert len(configs) >= 6
    for config in configs:
        space.validate_config(config, where=f"{backend} sample")


@pytest.mark.parametrize(("backend", "space_name"), BACKEND_AND_SPACE)
def test_every_sampled_config_is_accepted_by_the_model(backend, space_name):
    model = pytest.importorskip("eeg.model")
    from eeg.pipeline import Preprocessing, check_preprocessing, fit_to_recordings

    for config in samples(backend, space_name):
        if space_name == "pipeline":  # preprocessing through its rules, the CNN + LSTM's knobs through the model's
            prep = Preprocessing.from_config(config)
            check_preprocessing(fit_to_recordings(prep, 128.0, 30 * 128), 128.0, 30 * 128, backend)
            assert {k: v for k, v in prep.as_dict().items() if k in config} == {
                k: config[k] for k in prep.as_dict() if k in config}
            config = {k: v for k, v in config.items() if k in model.DEFAULT_HPARAMS}
        resolved = model.resolve_hparams(config)
        for key, value in config.items():
            assert resolved[key] == value, (backend, key)


@pytest.mark.parametrize(("backend", "space_name"), BACKEND_AND_SPACE)
def test_decoding_any_backends_config_changes_nothing(backend, space_name):
    space = SPACES[space_name]
    for config in samples(backend, space_name):
        assert decode_config(config, space) == config


@pytest.mark.parametrize("backend", ["ray", "optuna", "hyperopt", "bayesopt", "keras_tuner", "configspace",
                                     "ray_bohb_search"])
def test_a_narrowed_space_narrows_what_every_backend_samples(backend):
    configs = samples(backend, "narrowed")
    assert {c["optimizer"] for c in configs} == {"adamw"}
    assert {c["use_lstm"] for c in configs} == {True}
    assert all(1e-4 <= c["learning_rate"] <= 1e-3 for c in configs)
    assert all(c["cnn_filters_0"] in (16, 32, 48, 64) for c in configs)
    assert all(c["kernel_size"] in (5, 7) for c in configs)


@pytest.mark.parametrize("backend", ["optuna", "keras_tuner", "configspace", "ray_bohb_search"])
def test_conditional_backends_leave_inactive_parameters_out(backend):
    configs = samples(backend, "built_in")
    for config in configs:
        assert ("lstm_units" in config) == config["use_lstm"]
        assert ("lstm_recurrent_dropout" in config) == config["use_lstm"]
        assert ("cnn_filters_1" in config) == (config["n_conv_blocks"] >= 2)
        assert ("cnn_filters_2" in config) == (config["n_conv_blocks"] == 3)
        assert ("dense_units_1" in config) == (config["n_dense_layers"] == 2)
    # Both branches of each condition were actually exercised.
    assert {c["use_lstm"] for c in configs} == {False, True}
    assert {c["n_conv_blocks"] for c in configs} == {1, 2, 3}


@pytest.mark.parametrize("backend", ["ray", "hyperopt", "bayesopt"])
def test_unconditional_backends_draw_every_parameter_even_inactive_ones(backend):
    for config in samples(backend, "built_in"):
        assert set(config) == set(SPACE.names)


def test_the_default_grid_sweeps_learning_rate_blocks_and_lstm_with_the_rest_at_defaults():
    defaults = {"learning_rate": 1e-3, "n_conv_blocks": 3, "use_lstm": True, "batch_size": 32, "epochs": 5}
    grid = to_ray_grid(SPACE, defaults)
    assert grid["learning_rate"] == {"grid_search": [1e-5, 3.16e-4, 1e-2]}
    assert grid["n_conv_blocks"] == {"grid_search": [1, 2, 3]}
    assert grid["use_lstm"] == {"grid_search": [False, True]}
    assert grid["batch_size"] == 32
    assert "epochs" not in grid  # only the space's own parameters are filled in
    assert len(sample_ray_grid(SPACE)) == 18


class _Mystery:
    name = "mystery"
    when = None


def _space_with_an_unknown_kind() -> SearchSpace:
    space = SearchSpace("odd", (Bool("flag"),))
    object.__setattr__(space, "params", (Bool("flag"), _Mystery()))  # bypass validation on purpose
    return space


@pytest.mark.parametrize(
    ("translate", "backend"),
    [
        (to_ray_param_space, "Ray Tune"),
        (lambda s: suggest_optuna(_NullTrial(), s), "Optuna"),
        (lambda s: optuna_distributions(s, {"mystery": 1}), "Optuna"),
        (to_hyperopt_space, "hyperopt"),
        (to_bayesopt_bounds, "bayesian-optimization"),
        (lambda s: build_keras_tuner_hparams(_NullTrial(), s), "Keras Tuner"),
        (to_configspace, "ConfigSpace"),
    ],
)
def test_every_translator_raises_space_error_on_a_kind_it_cannot_map(translate, backend):
    with pytest.raises(SpaceError, match=f"{backend} cannot map parameter 'mystery' of kind _Mystery"):
        translate(_space_with_an_unknown_kind())


class _NullTrial:
    """Stands in for an optuna.Trial / keras_tuner.HyperParameters: every suggestion is True."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: True


def test_the_optuna_define_by_run_function_survives_pickling_for_ray_checkpoints():
    import pickle

    function = pickle.loads(pickle.dumps(optuna_define_by_run(NARROW)))
    assert function.space == NARROW
    assert repr(function) == "optuna_define_by_run('cnn_lstm')"


@pytest.mark.parametrize("backend", ["optuna", "ray", "bayesopt", "keras_tuner", "ray_bohb_search"])
def test_any_backends_trial_can_be_recorded_into_an_optuna_study(backend):
    optuna = pytest.importorskip("optuna")
    study = optuna.create_study(direction="maximize")
    for i, config in enumerate(samples(backend, "narrowed")):
        params = {name: config[name] for name in NARROW.active_names(config)}
        distributions = optuna_distributions(NARROW, {**params, "epochs": 3})
        assert set(distributions) == set(params)
        study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=i / N))
    assert study.best_trial.params["optimizer"] == "adamw"


# --- ConfigSpace / BOHB ---------------------------------------------------------------------


def test_bohb_fits_its_density_model_from_reported_results():
    searcher = ray_bohb_search(SPACE)
    assert list(searcher.bohber.kde_models) == [1.0]


def test_the_bohb_searcher_survives_a_ray_checkpoint(tmp_path):
    pytest.importorskip("hpbandster")
    from ray.tune.search.bohb import TuneBOHB

    searcher = TuneBOHB(space=to_configspace(NARROW, seed=0), metric="val_accuracy", mode="max", seed=0)
    searcher.suggest("t0")
    searcher.save(str(tmp_path / "searcher.pkl"))
    restored = TuneBOHB(space=to_configspace(NARROW, seed=0), metric="val_accuracy", mode="max", seed=0)
    restored.restore(str(tmp_path / "searcher.pkl"))
    assert "t0" in restored.running
    NARROW.validate_config(decode_configspace(restored.suggest("t1"), NARROW))
