"""Loading ``--space my_space.yaml`` overrides (search_spaces/overrides.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from search_spaces import SPACE, SpaceError, get_space, load_space_overrides
from search_spaces.overrides import check_space_against_model
from search_spaces.space import Categorical, Float, Int


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my_space.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_guides_section_8_1_ranges_load_from_yaml(tmp_path):
    path = write(tmp_path, """
learning_rate: {low: 1.0e-6, high: 5.0e-2}
cnn_filters_0: {low: 16, high: 512, step: 16}
""")
    space = load_space_overrides(path, SPACE)
    assert space["learning_rate"] == Float("learning_rate", 1e-6, 5e-2, log=True)
    assert space["cnn_filters_0"] == Int("cnn_filters_0", 16, 512, step=16)
    assert space.source == str(path)


def test_overrides_replace_only_the_fields_they_name_and_keep_conditions(tmp_path):
    space = load_space_overrides(write(tmp_path, "lstm_units: {high: 512}\n"), SPACE)
    assert space["lstm_units"] == Int("lstm_units", 32, 512, step=32, when=SPACE["lstm_units"].when)
    assert [p for p in space if p.name != "lstm_units"] == [p for p in SPACE if p.name != "lstm_units"]


def test_the_built_in_space_is_left_untouched(tmp_path):
    load_space_overrides(write(tmp_path, "batch_size: {choices: [128]}\n"), SPACE)
    assert SPACE["batch_size"].choices == (16, 32, 64)


def test_exponents_without_a_dot_are_read_as_numbers(tmp_path):
    # YAML 1.1 would read these as strings.
    space = load_space_overrides(write(tmp_path, "l2: {low: 1e-7, high: 1e-3}\n"), SPACE)
    assert (space["l2"].low, space["l2"].high) == (1e-7, 1e-3)


def test_a_bool_can_be_pinned_to_one_value(tmp_path):
    space = load_space_overrides(write(tmp_path, "use_lstm: {choices: [true]}\n"), SPACE)
    assert space["use_lstm"] == Categorical("use_lstm", (True,))
    assert space.is_active("lstm_units", {"use_lstm": True})


def test_a_bool_rejects_non_boolean_choices(tmp_path):
    with pytest.raises(SpaceError, match="use_lstm is a Bool; its choices must be true and/or false"):
        load_space_overrides(write(tmp_path, "use_lstm: {choices: [yes_please]}\n"), SPACE)


def test_an_unknown_parameter_names_the_file_the_key_and_the_valid_names(tmp_path):
    path = write(tmp_path, "lr: {low: 1.0e-4}\n")
    with pytest.raises(SpaceError) as info:
        load_space_overrides(path, SPACE)
    message = str(info.value)
    assert message.startswith(f"{path}: unknown parameter 'lr'; valid names: learning_rate, batch_size")
    assert "l2" in message and "\n" not in message


def test_an_unknown_field_names_the_valid_fields_for_that_kind(tmp_path):
    with pytest.raises(SpaceError, match=r"learning_rate has no field 'hihg'; valid fields for a Float: low, high, log"):
        load_space_overrides(write(tmp_path, "learning_rate: {hihg: 0.1}\n"), SPACE)
    with pytest.raises(SpaceError, match=r"batch_size has no field 'low'; valid fields for a Categorical: choices"):
        load_space_overrides(write(tmp_path, "batch_size: {low: 8}\n"), SPACE)


def test_low_not_below_high_is_reported_with_the_file_and_both_values(tmp_path):
    path = write(tmp_path, "learning_rate: {low: 0.1, high: 0.001}\n")
    with pytest.raises(SpaceError) as info:
        load_space_overrides(path, SPACE)
    assert str(info.value) == f"{path}: learning_rate needs low < high, got low=0.1, high=0.001"


def test_a_high_below_the_built_in_low_is_caught_after_merging(tmp_path):
    with pytest.raises(SpaceError, match=r"cnn_dropout needs low < high, got low=0.0, high=0.0"):
        load_space_overrides(write(tmp_path, "cnn_dropout: {high: 0}\n"), SPACE)


def test_a_log_range_needs_a_positive_low(tmp_path):
    with pytest.raises(SpaceError, match=r"cnn_dropout with log=true needs low > 0, got low=0.0"):
        load_space_overrides(write(tmp_path, "cnn_dropout: {log: true}\n"), SPACE)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lstm_units: {step: 0}\n", "lstm_units needs an integer step > 0, got step=0"),
        ("lstm_units: {low: 33.5}\n", r"lstm_units.low must be an integer, got 33.5"),
        ("lstm_units: {low: 48}\n", "lstm_units needs low and high to be multiples of step"),
        ("lstm_units: {low: many}\n", "lstm_units.low must be a finite number, got 'many'"),
        ("lstm_units: {high: .inf}\n", "lstm_units.high must be a finite number, got inf"),
        ("lstm_units: {log: 1}\n", "lstm_units.log must be true or false, got 1"),
        ("lstm_units: {log: true}\n", "lstm_units with log=true needs step=1, got step=32"),
        ("batch_size: {choices: []}\n", r"batch_size.choices must be a non-empty list, got \[\]"),
        ("batch_size: {choices: 64}\n", "batch_size.choices must be a non-empty list, got 64"),
        ("batch_size: {choices: [32, 32]}\n", "batch_size choices must be unique"),
        ("batch_size: {choices: [[32]]}\n", "batch_size choices must be numbers, strings or booleans"),
        ("batch_size: 64\n", r"batch_size needs a mapping of fields \(choices\), got 64"),
        ("- learning_rate\n", "expected a mapping of parameter names to ranges"),
        ("", "expected a mapping of parameter names to ranges.*got nothing"),
        ("learning_rate: {low: [\n", "not valid YAML at line"),
    ],
)
def test_a_broken_override_is_reported_in_one_line_naming_the_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(SpaceError, match=message) as info:
        load_space_overrides(path, SPACE)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_a_missing_file_is_an_input_error_naming_it(tmp_path):
    with pytest.raises(SpaceError, match=r"nope.yaml: no such search-space file"):
        load_space_overrides(tmp_path / "nope.yaml", SPACE)


def test_get_space_applies_an_override_file(tmp_path):
    path = write(tmp_path, "n_conv_blocks: {high: 2}\n")
    assert get_space("cnn_lstm", str(path))["n_conv_blocks"].high == 2
    assert get_space() is SPACE
    with pytest.raises(SpaceError, match="unknown search space 'transformer'; known: cnn_lstm"):
        get_space("transformer")


def test_get_space_refuses_a_space_file_the_model_cannot_build_in_one_line(tmp_path):
    path = write(tmp_path, "kernel_size: {choices: [9]}\n")
    with pytest.raises(SpaceError) as info:
        get_space(overrides_path=str(path))
    message = str(info.value)
    assert message.startswith(f"{path}: the model rejects kernel_size=9 ")
    assert "kernel_size must be one of 3, 5, 7, got 9" in message
    assert "\n" not in message


def test_get_space_still_loads_an_override_file_the_model_accepts(tmp_path):
    path = write(tmp_path, "kernel_size: {choices: [5, 7]}\ndense_dropout_0: {high: 0.5}\n")
    space = get_space(overrides_path=str(path))
    assert space["kernel_size"].choices == (5, 7)
    assert space["dense_dropout_0"].high == 0.5
    assert space.source == str(path)


def test_a_well_formed_range_the_model_cannot_build_is_caught_at_load_time(tmp_path):
    model = pytest.importorskip("eeg.model")
    path = write(tmp_path, "kernel_size: {choices: [3, 9]}\ndense_dropout_0: {high: 1.0}\n")
    space = load_space_overrides(path, SPACE)
    with pytest.raises(SpaceError, match=rf"{path}: the model rejects kernel_size=9 \(hyperparameters: kernel_size"):
        check_space_against_model(space, model.resolve_hparams)
