"""The one CLI in-process: tune is the default subcommand, and the user's bad input exits 2 in one line."""

from __future__ import annotations

import pytest

import tune_cluster
from tune_cluster import build_parser, main


def test_tune_is_the_default_subcommand():
    args = build_parser().parse_args(tune_cluster._with_default_command(["--use-dummy-data", "--max-trials", "5"]))
    assert args.command == "tune" and args.max_trials == 5 and args.use_dummy_data


@pytest.mark.parametrize("command", ["tune", "train", "verify", "report"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0 and "usage: tune_cluster.py" in capsys.readouterr().out


def test_a_bad_value_exits_2_with_one_line_and_no_traceback(tmp_path, capsys):
    assert main(["--use-dummy-data", "--max-epochs", "0", "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --max-epochs must be a whole number >= 1") and err.count("\n") == 1
    assert not any(tmp_path.iterdir())
