"""A table without subject/trial ids gets one warning line at load time; one with them gets none."""

from __future__ import annotations

import numpy as np
import pandas as pd

from eeg.loaders import load_table


def _frame(with_ids: bool) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(12, 3)), columns=["f0", "f1", "f2"])
    frame["label"] = np.arange(12) % 2
    if with_ids:
        frame["subject"] = np.arange(12) // 6
        frame["trial"] = np.arange(12) // 2
    return frame


def test_a_csv_without_ids_warns_once_naming_the_file_the_risk_and_the_fix(tmp_path, capsys):
    path = tmp_path / "features.csv"
    _frame(with_ids=False).to_csv(path, index=False)
    load_table(path)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert str(path) in err[0] and "both sides of the split" in err[0] and "add 'subject' and 'trial' columns" in err[0]


def test_an_npz_without_ids_says_arrays(tmp_path, capsys):
    path = tmp_path / "features.npz"
    np.savez(path, X=np.zeros((6, 2)) + np.arange(6)[:, None], y=np.arange(6) % 2)
    load_table(path)
    assert "arrays" in capsys.readouterr().err


def test_a_table_with_ids_loads_silently(tmp_path, capsys):
    path = tmp_path / "features.parquet"
    _frame(with_ids=True).to_parquet(path)
    load_table(path)
    assert capsys.readouterr().err == ""
