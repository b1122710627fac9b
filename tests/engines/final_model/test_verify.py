"""verify's arithmetic and files: the paired improvement over seeds, the guide's lines, the document's two copies."""

from __future__ import annotations

import json

import pytest

from eeg.errors import InputError
from engines.experiment.settings import load_settings
from engines.final_model.verify import improvement_lines, paired_improvement, run_verify, write_verify_document


def test_the_improvement_is_paired_seed_by_seed_with_a_t_interval():
    gain, interval = paired_improvement([0.5, 0.6, 0.55], [0.6, 0.7, 0.65])
    assert gain == pytest.approx(0.1) and interval == pytest.approx((0.1, 0.1))
    assert paired_improvement([0.5], [0.6])[1] is None


def test_the_guides_before_and_after_lines_come_with_the_improvement():
    lines = improvement_lines([0.5, 0.6], [0.6, 0.8], "seeds")
    assert lines[0] == "Before optimization: 55.0% accuracy" and lines[1] == "After optimization:  70.0% accuracy"
    assert lines[2].startswith("Improvement: +15.0 points (95% CI")
    assert lines[2].endswith("): no clear difference: the interval includes zero")
    better = improvement_lines([0.5, 0.6, 0.55], [0.6, 0.71, 0.65], "seeds")[2]
    assert better.endswith(": the tuned model beats the default configuration")


def test_the_document_is_copied_into_the_tuned_experiments_folder_when_it_is_here(tmp_path):
    experiment = tmp_path / "tuning" / "e1"
    experiment.mkdir(parents=True)
    write_verify_document(tmp_path, "verify.json", {"experiment": str(experiment), "x": 1})
    assert json.loads((tmp_path / "verify.json").read_text()) == json.loads((experiment / "verify.json").read_text())
    write_verify_document(tmp_path, "other.json", {"experiment": str(tmp_path / "gone")})
    assert (tmp_path / "other.json").is_file()


@pytest.mark.parametrize(("hparams", "seeds", "message"), [(None, 3, "verify needs --hparams"),
                                                          ("x.json", 0, "--seeds must be >= 1")])
def test_verify_refuses_a_missing_file_or_no_seed_before_anything_runs(hparams, seeds, message):
    with pytest.raises(InputError, match=message):
        run_verify(load_settings({"use_dummy_data": True}, None), hparams, epochs=None, patience=5, seeds=seeds)
