"""The whole EEG pipeline's search space (``--space pipeline``): preprocessing, then the model family and its knobs.

Preprocessing (see :mod:`eeg.pipeline`): feature set, band preset, window length, window overlap, windows per
sequence, per-subject standardisation. Model family: the seed's CNN + LSTM (every knob of
:data:`search_spaces.cnn_lstm.SPACE`, active only for it), an RBF-SVM (``svm_C``, ``svm_gamma``) or logistic
regression (``logreg_C``), each family's knobs conditional on it. A searcher that cannot express conditions
(random, HyperOpt's flat space, BayesOpt, BOHB) draws them all; the trainable reads only the active ones.

Every value here fits the default synthetic recordings (30 s at 128 Hz). On shorter recordings the few
combinations of long windows, no overlap and many windows per sequence that do not fit are cut to the most windows
the shortest recording holds (the trial reports ``n_steps_used``); a value no combination can use is refused at
load (:func:`eeg.pipeline.check_preprocessing`).
"""

from __future__ import annotations

from dataclasses import replace

from collections.abc import Mapping
from typing import Any

from eeg.pipeline import BAND_PRESETS, FEATURE_SETS, SUBJECT_NORMS, Preprocessing
from search_spaces.cnn_lstm import SPACE as CNN_LSTM_SPACE
from search_spaces.space import Categorical, Condition, Float, SearchSpace

__all__ = ["SPACE", "MODEL_FAMILIES", "PREPROCESSING_NAMES", "CLASSICAL_NAMES", "split_pipeline_config",
           "check_pipeline_value"]

MODEL_FAMILIES: tuple[str, ...] = ("cnn_lstm", "svm", "logreg")
PREPROCESSING_NAMES: tuple[str, ...] = ("feature_set", "band_preset", "window_s", "overlap", "n_steps", "subject_norm")
CLASSICAL_NAMES: tuple[str, ...] = ("svm_C", "svm_gamma", "logreg_C")

_CNN_LSTM = Condition("model_family", ("cnn_lstm",))
_SVM = Condition("model_family", ("svm",))
_LOGREG = Condition("model_family", ("logreg",))

SPACE = SearchSpace(
    name="pipeline",
    params=(
        # Preprocessing
        Categorical("feature_set", tuple(FEATURE_SETS)),
        Categorical("band_preset", tuple(BAND_PRESETS)),
        Categorical("window_s", (1.0, 2.0, 4.0)),
        Categorical("overlap", (0.0, 0.5, 0.75)),
        Categorical("n_steps", (4, 8, 12)),
        Categorical("subject_norm", SUBJECT_NORMS),
        # Model family and the classical families' knobs
        Categorical("model_family", MODEL_FAMILIES),
        Float("svm_C", 1e-2, 1e3, log=True, when=_SVM),
        Float("svm_gamma", 1e-5, 1e-1, log=True, when=_SVM),
        Float("logreg_C", 1e-3, 1e2, log=True, when=_LOGREG),
        # The CNN + LSTM's own space; its nested conditions (blocks, LSTM, dense layers) still apply below this one.
        *(replace(param, when=param.when or _CNN_LSTM) for param in CNN_LSTM_SPACE),
    ),
)


def check_pipeline_value(values: dict) -> None:
    """The pipeline's validator for :func:`search_spaces.overrides.check_space_against_model`: a CNN + LSTM knob
    goes through the model's own rules, a preprocessing value through :mod:`eeg.pipeline`'s (those that need no
    data; the data's limits are checked when it is loaded), a classical knob must be positive.

    Raises:
        InputError: The rule, with the value.
    """
    from eeg.errors import InputError
    from eeg.model import DEFAULT_HPARAMS, resolve_hparams
    from eeg.pipeline import Preprocessing, check_preprocessing

    (name, value), = values.items()
    if name in DEFAULT_HPARAMS:
        resolve_hparams({name: value})
    elif name in PREPROCESSING_NAMES:
        # An unbounded recording at a rate no band preset reaches: only the data-free rules can fail here.
        check_preprocessing(Preprocessing(**{name: value}), 1e9, 10**12, "pipeline")
    elif name in CLASSICAL_NAMES and not (isinstance(value, (int, float)) and value > 0):
        raise InputError(f"{name} must be a number > 0, got {value!r}")


def split_pipeline_config(params: Mapping[str, Any]) -> tuple[Preprocessing, str, dict[str, Any]]:
    """``(Preprocessing, model family, that family's own parameters)`` of a decoded pipeline config."""
    from eeg.model import DEFAULT_HPARAMS

    family = str(params.get("model_family", "cnn_lstm"))
    names = DEFAULT_HPARAMS if family == "cnn_lstm" else CLASSICAL_NAMES
    return Preprocessing.from_config(params), family, {name: value for name, value in params.items() if name in names}
