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
    decode_hyperopt,
    optuna_define_by_run,
    optuna_distributions,
    suggest_optuna,
    to_bayesopt_bounds,
    to_configspace,
    to_hyperopt_space,
    to_ray_grid,
    to_ray_param_space,
)
from search_spaces.space import Bool, Categorical, Float, Int

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
SPACES = {"built_in": SPACE, "narrowed": NARROW}


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
    for config in samples(backend, space_name):
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


def test_optuna_records_no_lstm_parameters_for_a_trial_without_an_lstm():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(lambda trial: float(bool(suggest_optuna(trial, SPACE)["use_lstm"])), n_trials=N)
    for trial in study.trials:
        assert ("lstm_units" in trial.params) == trial.params["use_lstm"]
        assert ("cnn_filters_2" in trial.params) == (trial.params["n_conv_blocks"] == 3)


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


def test_a_grid_over_a_wide_int_picks_evenly_spaced_grid_points():
    grid = to_ray_grid(SPACE, axes=("dense_units_0", "cnn_dropout"), points_per_axis=4)
    assert grid["dense_units_0"] == {"grid_search": [32, 192, 352, 512]}
    assert grid["cnn_dropout"] == {"grid_search": [0.0, 0.167, 0.333, 0.5]}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"axes": ("lr",)}, "grid axis 'lr' is not a parameter; valid names: learning_rate"),
     ({"axes": ()}, "at least one axis"),
     ({"axes": ("l2", "l2")}, "repeat a name"),
     ({"points_per_axis": 1}, "points_per_axis >= 2, got 1")],
)
def test_a_bad_grid_request_is_rejected_with_its_value(kwargs, message):
    with pytest.raises(SpaceError, match=message):
        to_ray_grid(SPACE, **kwargs)


def test_the_bayesopt_box_gives_every_grid_point_an_equal_share():
    bounds = to_bayesopt_bounds(SPACE)
    lo, hi = bounds["n_conv_blocks"]
    xs = np.linspace(lo, hi, 30_001)
    counts = np.unique([decode_bayesopt({"n_conv_blocks": x}, SPACE)["n_conv_blocks"] for x in xs],
                       return_counts=True)
    assert list(counts[0]) == [1, 2, 3]
    assert counts[1].max() - counts[1].min() <= 2
    lo, hi = bounds["pooling__index"]
    assert (lo, hi) == (0.0, 3.0)
    picks = [decode_bayesopt({"pooling__index": x}, SPACE)["pooling"] for x in np.linspace(lo, hi, 7)]
    assert picks == ["max", "max", "avg", "avg", "none", "none", "none"]


def test_bayesopt_searches_log_parameters_in_log10_space():
    bounds = to_bayesopt_bounds(SPACE)
    assert bounds["learning_rate__log10"] == pytest.approx((-5.0, -2.0))
    assert bounds["l2__log10"] == pytest.approx((-6.0, -2.0))
    assert decode_bayesopt({"learning_rate__log10": -3.0}, SPACE)["learning_rate"] == pytest.approx(1e-3)


def test_decode_config_passes_foreign_keys_through_and_is_idempotent():
    point = {"learning_rate__log10": np.float64(-3.5), "use_lstm__index": 1.2, "epochs": 7}
    decoded = decode_config(point, SPACE)
    assert decoded == {"learning_rate": pytest.approx(10**-3.5), "use_lstm": True, "epochs": 7}
    assert type(decoded["learning_rate"]) is float
    assert decode_config(decoded, SPACE) == decoded


def test_decode_config_rejects_a_parameter_given_both_encoded_and_plain():
    with pytest.raises(SpaceError, match="learning_rate is given twice"):
        decode_config({"learning_rate": 1e-3, "learning_rate__log10": -3.0}, SPACE)


def test_decode_hyperopt_turns_numpy_values_into_plain_python():
    decoded = decode_hyperopt({"cnn_filters_0": np.float64(64.0), "use_lstm": np.bool_(False)}, SPACE)
    assert decoded == {"cnn_filters_0": 64, "use_lstm": False}
    assert type(decoded["cnn_filters_0"]) is int and type(decoded["use_lstm"]) is bool


def test_hyperopt_integers_reach_both_ends_of_their_grid():
    from hyperopt.pyll import stochastic

    expr = to_hyperopt_space(SPACE)["n_conv_blocks"]
    draws = [stochastic.sample(expr, rng=np.random.default_rng(i)) for i in range(200)]
    assert set(draws) == {1, 2, 3}
    assert all(type(d) is int for d in draws)


def test_keras_tuner_starts_from_the_given_defaults_where_they_lie_in_the_space():
    kt = pytest.importorskip("keras_tuner")
    hp = kt.HyperParameters()
    config = build_keras_tuner_hparams(
        hp, SPACE, defaults={"learning_rate": 1e-3, "cnn_filters_0": 64, "optimizer": "adamw", "l2": 0.0}
    )
    assert config["learning_rate"] == 1e-3 and config["cnn_filters_0"] == 64 and config["optimizer"] == "adamw"
    assert config["l2"] == 1e-6  # 0.0 is outside the log range, so Keras Tuner's own default applies


def test_keras_tuner_rejects_a_categorical_mixing_value_types():
    kt = pytest.importorskip("keras_tuner")
    space = SearchSpace("mixed", (Categorical("units", (16, "auto")),))
    with pytest.raises(SpaceError, match="Keras Tuner's Choice needs one value type, units mixes int, str"):
        build_keras_tuner_hparams(kt.HyperParameters(), space)


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


def test_configspace_searches_a_stepped_int_by_grid_index_so_every_grid_point_is_reachable():
    configspace = to_configspace(SPACE, seed=3)
    hyperparameter = configspace["cnn_filters_0__grid"]
    assert (hyperparameter.lower, hyperparameter.upper) == (0, 7)
    assert "cnn_filters_0" not in configspace
    draws = [decode_configspace(configspace.sample_configuration(), SPACE)["cnn_filters_0"] for _ in range(300)]
    assert sorted(set(draws)) == [32, 64, 96, 128, 160, 192, 224, 256]
    assert all(type(d) is int for d in draws)


def test_configspace_keeps_non_string_choices_and_decodes_them_to_plain_python():
    configspace = to_configspace(SPACE)
    assert list(configspace["batch_size"].choices) == [16, 32, 64]
    assert list(configspace["use_lstm"].choices) == [False, True]
    decoded = decode_configspace({"batch_size": np.int64(32), "use_lstm": np.bool_(True), "optimizer": np.str_("adam")},
                                 SPACE)
    assert decoded == {"batch_size": 32, "use_lstm": True, "optimizer": "adam"}
    assert [type(v) for v in decoded.values()] == [int, bool, str]


def test_configspace_conditions_read_the_parents_values():
    conditions = {str(c) for c in to_configspace(SPACE).conditions}
    assert "cnn_filters_1__grid | n_conv_blocks in {2, 3}" in conditions
    assert "cnn_filters_2__grid | n_conv_blocks == 3" in conditions
    assert "lstm_units__grid | use_lstm == True" in conditions


def test_configspace_leaves_out_a_parameter_whose_condition_a_narrowed_parent_can_never_meet():
    space = apply_space_overrides({"n_conv_blocks": {"low": 1, "high": 2}}, SPACE, where="two_blocks.yaml")
    configspace = to_configspace(space, seed=0)
    assert "cnn_filters_2__grid" not in configspace and "cnn_filters_1__grid" in configspace
    for _ in range(N):
        config = decode_configspace(configspace.sample_configuration(), space)
        space.validate_config(config)
        assert "cnn_filters_2" not in config


def test_configspace_refuses_choices_it_would_merge():
    space = SearchSpace("mixed", (Categorical("units", (1, True)),))
    with pytest.raises(SpaceError, match="ConfigSpace compares categorical choices with ==, so units's choices 1 and "
                                         "True would be one choice"):
        to_configspace(space)


def test_decode_configspace_is_idempotent_and_passes_foreign_keys_through():
    raw = {"cnn_filters_0__grid": np.int64(2), "learning_rate": 1e-3, "epochs": 4}
    decoded = decode_configspace(raw, SPACE)
    assert decoded == {"cnn_filters_0": 96, "learning_rate": 1e-3, "epochs": 4}
    assert decode_configspace(decoded, SPACE) == decoded
    assert decode_config(raw, SPACE) == decoded  # the one decode every trainable may call


@pytest.mark.parametrize(
    ("config", "message"),
    [({"cnn_filters_0": 64, "cnn_filters_0__grid": 1}, "cnn_filters_0 is given twice"),
     ({"cnn_filters_0__grid": 8}, "cnn_filters_0__grid=8 is outside the 8 grid points of cnn_filters_0"),
     ({"cnn_filters_0__grid": 1.5}, "cnn_filters_0__grid needs a whole-number grid index, got 1.5"),
     ({"n_conv_blocks__grid": 1}, "n_conv_blocks__grid does not match Int n_conv_blocks")],
)
def test_decode_configspace_rejects_a_config_that_is_not_of_the_space(config, message):
    with pytest.raises(SpaceError, match=message):
        decode_configspace(config, SPACE)


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
