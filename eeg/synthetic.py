"""Realistic synthetic raw EEG with emotion effects, for ``--use-dummy-data`` and tests.

The generator produces raw multichannel recordings (32 DEAP channels, microvolts), not feature vectors,
so the real feature pipeline (:mod:`eeg.features`) runs on them. Each recording is

* a 1/f background (subject-specific exponent, a knee near 1.5 Hz, roll-off above 45 Hz), plus
* delta/theta/alpha/beta/gamma rhythms: narrowband noise (bursty by nature) under a slow log-normal
  envelope, with plausible topographies (posterior alpha at the subject's individual alpha frequency,
  frontal-midline theta, ...), all smeared across neighbouring electrodes (volume conduction), plus
* eye blinks on the frontal channels and bursts of muscle (EMG) noise on the temporal channels.

Emotion effects follow the valence/arousal (circumplex) view of each class:

* **Valence -> frontal alpha asymmetry.** Alpha power is inversely related to cortical activity and
  positive, approach-related emotion goes with relatively more *left* frontal activity (Davidson's
  approach/withdrawal model), so positive valence means more *right* than left frontal alpha:
  ``log alpha(F4) - log alpha(F3)`` rises with valence. Positive valence also raises frontal-midline
  theta a little and lateral-temporal beta/gamma (as reported on SEED).
* **Arousal -> beta/alpha ratio.** High arousal suppresses alpha (most over posterior sites) and
  raises beta and, less, gamma.

Subjects differ (alpha frequency 9-11 Hz, 1/f exponent, channel gains, band levels, how strongly they
react, and an idiosyncratic per-class offset of the effects) and so do trials (how well the clip worked,
amplitude, band jitter, artifacts), so generalising to new subjects is harder than to new trials.
``difficulty`` (0..1) shrinks the effects and inflates that variability. Every subject and trial draws
from its own :class:`numpy.random.SeedSequence` child, so a recording depends only on
``(seed, subject, trial)``: adding subjects never changes the existing ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from eeg.dataset import EEGDataset, RawEEG  # RawEEG re-exported here
from eeg.deap import DEAP_CHANNELS  # one definition of the 32-channel order; re-exported here
from eeg.errors import InputError
from eeg.features import featurize_trials

__all__ = [
    "DEAP_CHANNELS",
    "DEFAULT_EMOTIONS",
    "AFFECT",
    "SyntheticConfig",
    "RawEEG",
    "generate_raw",
    "make_dummy_dataset",
]

DEFAULT_EMOTIONS: tuple[str, ...] = ("happy", "calm", "sad", "angry", "neutral")

# (valence, arousal) in [-1, 1] on Russell's circumplex. Class names missing here are spread evenly
# around the unit circle in the order given.
AFFECT: dict[str, tuple[float, float]] = {
    "happy": (0.8, 0.6), "excited": (0.6, 0.9), "calm": (0.6, -0.7), "relaxed": (0.7, -0.6),
    "sad": (-0.7, -0.5), "bored": (-0.4, -0.8), "angry": (-0.7, 0.7), "fear": (-0.8, 0.8),
    "disgust": (-0.6, 0.3), "surprise": (0.2, 0.9), "neutral": (0.0, 0.0),
}  # fmt: skip

# Approximate 2-D scalp positions: x from left (-1) to right (+1), y from back (-1) to front (+1).
_LEFT_POS: dict[str, tuple[float, float]] = {
    "Fp1": (-0.3, 0.95), "AF3": (-0.35, 0.8), "F3": (-0.45, 0.55), "F7": (-0.8, 0.6), "FC5": (-0.75, 0.3),
    "FC1": (-0.25, 0.3), "C3": (-0.5, 0.0), "T7": (-0.95, 0.0), "CP5": (-0.75, -0.3), "CP1": (-0.25, -0.3),
    "P3": (-0.45, -0.55), "P7": (-0.8, -0.6), "PO3": (-0.35, -0.8), "O1": (-0.3, -0.95),
}  # fmt: skip
_RIGHT = {"Fp1": "Fp2", "AF3": "AF4", "F3": "F4", "F7": "F8", "FC5": "FC6", "FC1": "FC2", "C3": "C4",
          "T7": "T8", "CP5": "CP6", "CP1": "CP2", "P3": "P4", "P7": "P8", "PO3": "PO4", "O1": "O2"}  # fmt: skip
_POS = {**_LEFT_POS, **{_RIGHT[k]: (-x, y) for k, (x, y) in _LEFT_POS.items()},
        "Oz": (0.0, -1.0), "Pz": (0.0, -0.5), "Fz": (0.0, 0.5), "Cz": (0.0, 0.0)}  # fmt: skip
_XY = np.array([_POS[ch] for ch in DEAP_CHANNELS])
_X, _Y = _XY[:, 0], _XY[:, 1]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# Topographies (one weight per channel) used to place rhythms, effects and artifacts.
_POSTERIOR = _sigmoid(-4.0 * (_Y + 0.2))
_FRONTAL = _sigmoid(5.0 * (_Y - 0.25))
_RIGHTWARD = np.tanh(3.0 * _X)  # -1 left .. +1 right
_MIDLINE = np.exp(-(_X**2) / 0.08)
_TEMPORAL = np.exp(-((np.abs(_X) - 0.9) ** 2) / 0.08) * np.exp(-(_Y**2) / 0.5)
_BLINK = np.exp(-(1.0 - _Y) / 0.25)

# Volume conduction: each electrode sees a Gaussian-weighted blend of nearby sources (unit variance kept).
_D2 = ((_XY[:, None, :] - _XY[None, :, :]) ** 2).sum(-1)
_MIX = np.exp(-_D2 / (2 * 0.3**2))
_MIX = (_MIX / np.sqrt((_MIX**2).sum(axis=1, keepdims=True))).astype(np.float32)

# Calibrated with a linear model on 8-window means (10 subjects x 4 trials/class x 30 s, chance 20%): at
# difficulty 0 / 0.5 / 1, per-subject trial-split accuracy ~0.88 / 0.75 / 0.45, leave-subjects-out ~0.65 / 0.41 / 0.25.
_EFFECT_SCALE = 1.6  # multiplier of the emotion effects at difficulty 0 (shrinks to 25% at difficulty 1)
_SUBJECT_SD = 0.2  # sd of the idiosyncratic per-class offsets, times (0.5 + difficulty)
_ENV_SD = 0.35  # sd of the slow log-amplitude modulation (bursts) of each rhythm
# Baseline rhythm amplitude (std, µV) per band (delta..gamma, the order of eeg.features.BANDS) and channel.
_BASE_AMP = np.stack([
    3.0 + 2.0 * _FRONTAL,                 # delta
    2.0 + 2.5 * _FRONTAL * _MIDLINE,      # theta: frontal midline
    3.0 + 11.0 * _POSTERIOR,              # alpha: posterior
    2.5 + 1.0 * _FRONTAL + 0.5 * _TEMPORAL,  # beta
    0.8 + 0.8 * _TEMPORAL,                # gamma
])  # fmt: skip


@dataclass(frozen=True)
class SyntheticConfig:
    """What to generate.

    Args:
        n_subjects: Number of subjects.
        trials_per_class: Trials (video clips) per class and subject.
        trial_seconds: Length of each trial in seconds.
        fs: Sampling rate in Hz (DEAP's preprocessed data use 128).
        class_names: Emotion classes; names in :data:`AFFECT` get their valence/arousal, others are
            spread evenly around the valence/arousal circle.
        difficulty: 0 (large effects, little variability) .. 1 (small effects, much variability).
        seed: Seed of everything random.
    """

    n_subjects: int = 10
    trials_per_class: int = 4
    trial_seconds: float = 30.0
    fs: float = 128.0
    class_names: tuple[str, ...] = DEFAULT_EMOTIONS
    difficulty: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_names", tuple(self.class_names))
        for name in ("n_subjects", "trials_per_class"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"SyntheticConfig: {name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise InputError(f"SyntheticConfig: seed must be an integer >= 0, got {self.seed!r}")
        if not self.trial_seconds > 0:
            raise InputError(f"SyntheticConfig: trial_seconds must be > 0, got {self.trial_seconds!r}")
        if not self.fs > 100:
            raise InputError(f"SyntheticConfig: fs must exceed 100 Hz to hold the gamma band, got {self.fs!r}")
        if not 0.0 <= self.difficulty <= 1.0:
            raise InputError(f"SyntheticConfig: difficulty must be in [0, 1], got {self.difficulty!r}")
        names = self.class_names
        if len(names) < 2 or len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
            raise InputError(f"SyntheticConfig: class_names must be >= 2 distinct non-empty strings, got {names!r}")

    @property
    def affect(self) -> np.ndarray:
        """``(n_classes, 2)`` valence and arousal of each class."""
        k = len(self.class_names)
        angles = 2 * np.pi * np.arange(k) / k + np.pi / 4
        circle = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 0.8
        return np.array([AFFECT.get(name.lower(), tuple(circle[i])) for i, name in enumerate(self.class_names)])


def _shaped_noise(rng: np.random.Generator, shapes: np.ndarray, n: int, rows: int = 1) -> np.ndarray:
    """Unit-variance Gaussian noise with PSD ``shapes[i]`` (given on the rfft grid of ``n`` samples).

    Returns ``(len(shapes), rows, n)`` float32: ``rows`` independent series per shape. The random
    spectrum is drawn directly (complex Gaussian per bin), which is white Gaussian noise after rfft.
    """
    shapes = np.array(shapes, dtype=np.float64)
    shapes[shapes < 1e-12 * shapes.max(axis=-1, keepdims=True)] = 0.0  # float32 denormals would slow the FFT ~10x
    shapes[:, 0] = 0.0  # no DC offset
    weights = np.full(shapes.shape[-1], 2.0)
    weights[0] = 1.0
    if n % 2 == 0:
        shapes[:, -1] = 0.0  # the Nyquist bin is real-only; drop it rather than special-case it
    gain = np.sqrt(shapes) * (n / np.sqrt((weights * shapes).sum(axis=-1, keepdims=True)))  # variance -> 1
    spec = rng.standard_normal((len(shapes), rows, shapes.shape[-1], 2), dtype=np.float32).view(np.complex64)[..., 0]
    spec *= (gain[:, None, :] / np.sqrt(2.0)).astype(np.float32)
    return np.fft.irfft(spec, n=n, axis=-1).astype(np.float32, copy=False)


def _bump(f: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((f - centre) / width) ** 2)


def _subject_params(config: SyntheticConfig, subject: int) -> dict:
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(subject,)))
    noise = 0.5 + config.difficulty
    k = len(config.class_names)
    # Idiosyncratic per-class effect: a smooth random pattern (constant + left/right + front/back) per band.
    basis = np.stack([np.ones_like(_X), _X, _Y])  # (3, n_ch)
    offsets = np.einsum("cbj,jn->cbn", rng.normal(0.0, _SUBJECT_SD * noise, (k, 5, 3)), basis)
    return {
        "order": rng.permutation(np.repeat(np.arange(k), config.trials_per_class)),
        "iaf": rng.uniform(9.0, 11.0),
        "theta_f": rng.uniform(5.5, 6.5),
        "beta_f": rng.uniform(18.0, 22.0),
        "exponent": rng.uniform(1.2, 1.8),
        "bg_amp": 12.0 * rng.lognormal(0.0, 0.15),
        "gains": rng.lognormal(0.0, 0.12, len(DEAP_CHANNELS)),
        "band_level": rng.normal(0.0, 0.2, (5, 1)),
        # How strongly this subject shows each effect: asymmetry, arousal, theta, temporal (see _emotion_log_amp).
        "sensitivity": np.clip(rng.normal(1.0, 0.25 * noise, 4), 0.2, None),
        "offsets": offsets,  # (k, 5, n_ch) log-amplitude
        "blink_rate": rng.uniform(0.1, 0.35),
        "blink_amp": rng.uniform(60.0, 140.0),
        "emg_rate": rng.uniform(0.02, 0.08) * noise,
    }


def _emotion_log_amp(valence: float, arousal: float, sens: np.ndarray) -> np.ndarray:
    """(5, n_ch) change of log rhythm amplitude caused by the emotion (before difficulty scaling)."""
    effect = np.zeros((5, len(DEAP_CHANNELS)))
    # Valence: more right than left frontal alpha; a little more frontal-midline theta, temporal beta/gamma.
    effect[2] += sens[0] * 0.45 * valence * _RIGHTWARD * _FRONTAL
    effect[1] += sens[2] * 0.15 * valence * _FRONTAL * _MIDLINE
    effect[3:] += sens[3] * 0.15 * valence * _TEMPORAL
    # Arousal: alpha suppression (strongest posterior), beta and gamma up -> beta/alpha ratio rises.
    effect[2] -= sens[1] * 0.35 * arousal * (0.5 + 0.5 * _POSTERIOR)
    effect[3] += sens[1] * 0.3 * arousal
    effect[4] += sens[1] * 0.2 * arousal
    return effect


def _trial_signal(config: SyntheticConfig, subj: dict, subject: int, trial: int, label: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(subject, trial + 1)))
    fs, noise, n_ch = config.fs, 0.5 + config.difficulty, len(DEAP_CHANNELS)
    effect_gain = _EFFECT_SCALE * (1.0 - 0.75 * config.difficulty)
    f = np.fft.rfftfreq(n, 1.0 / fs)
    f_safe = np.maximum(f, 1e-3)

    background = 1.0 / (1.5 ** subj["exponent"] + f_safe ** subj["exponent"])
    background *= _sigmoid((f - 0.5) / 0.1) / (1.0 + (f / 47.0) ** 8)  # no DC drift, anti-alias roll-off
    centres = [(2.5, 0.9), (subj["theta_f"], 0.8), (subj["iaf"], 0.6), (subj["beta_f"], 4.0), (38.0, 4.0)]
    rhythms = [_bump(f, c, w) * (f > 0.5) for c, w in centres]
    slow = _bump(f, 0.0, 0.3) * (f > 0)
    # (6, n_ch, n), spatially smeared. einsum, not matmul: threaded BLAS thrashes on busy small machines.
    sources = np.einsum("ij,bjn->bin", _MIX, _shaped_noise(rng, np.stack([background] + rhythms), n, rows=n_ch))
    envelopes = np.exp(_ENV_SD * _shaped_noise(rng, slow[None], n, rows=5)[0] - _ENV_SD**2)  # (5, n), E[env^2] = 1

    valence, arousal = config.affect[label]
    intensity = np.clip(rng.normal(1.0, 0.3 * noise), 0.1, None)  # how well this clip elicited the emotion
    log_amp = (
        subj["band_level"]
        + effect_gain * intensity * (_emotion_log_amp(valence, arousal, subj["sensitivity"]) + subj["offsets"][label])
        + rng.normal(0.0, 0.12 * noise, (5, 1))  # trial-to-trial band jitter
        + rng.normal(0.0, 0.04 * noise, (5, n_ch))
    )
    amp = (_BASE_AMP * np.exp(log_amp)).astype(np.float32)  # (5, n_ch) µV
    x = subj["bg_amp"] * sources[0] + np.einsum("bc,bcn,bn->cn", amp, sources[1:], envelopes)
    x *= subj["gains"][:, None] * rng.lognormal(0.0, 0.1 * noise)
    x += _blinks(rng, subj, n, fs, noise) + _emg(rng, subj, f, n, fs)
    return x.astype(np.float32)


def _blinks(rng: np.random.Generator, subj: dict, n: int, fs: float, noise: float) -> np.ndarray:
    t = np.arange(n) / fs
    trace = np.zeros(n)
    for onset in rng.uniform(0.0, n / fs, rng.poisson(subj["blink_rate"] * noise * n / fs)):
        trace += subj["blink_amp"] * rng.lognormal(0.0, 0.2) * np.exp(-0.5 * ((t - onset) / 0.07) ** 2)
    return _BLINK[:, None] * trace[None, :]


def _emg(rng: np.random.Generator, subj: dict, f: np.ndarray, n: int, fs: float) -> np.ndarray:
    out = np.zeros((len(DEAP_CHANNELS), n))
    n_bursts = rng.poisson(subj["emg_rate"] * n / fs)
    if n_bursts == 0:
        return out
    shape = _sigmoid((f - 20.0) / 2.0) / (1.0 + (f / 60.0) ** 4)
    bursts = _shaped_noise(rng, shape[None], n, rows=n_bursts)[0]
    t = np.arange(n) / fs
    for burst in bursts:
        onset, length = rng.uniform(0.0, n / fs), rng.uniform(0.3, 1.5)
        envelope = _sigmoid((t - onset) / 0.05) * _sigmoid((onset + length - t) / 0.05)
        side = _TEMPORAL * np.where(_X * rng.choice([-1.0, 1.0]) > 0, 1.0, 0.2)
        out += rng.uniform(5.0, 20.0) * side[:, None] * (envelope * burst)[None, :]
    return out


def generate_raw(config: SyntheticConfig | None = None) -> RawEEG:
    """Generate raw EEG trials for every subject, trial and class.

    Args:
        config: What to generate; defaults to :class:`SyntheticConfig` ``()``.

    Returns:
        A :class:`RawEEG` with ``n_subjects * n_classes * trials_per_class`` trials, classes balanced
        within each subject and presented in a per-subject random order.
    """
    config = config or SyntheticConfig()
    n = int(round(config.trial_seconds * config.fs))
    per_subject = len(config.class_names) * config.trials_per_class
    total = config.n_subjects * per_subject
    signals = np.empty((total, len(DEAP_CHANNELS), n), dtype=np.float32)
    labels = np.empty(total, dtype=np.int64)
    for s in range(config.n_subjects):
        subj = _subject_params(config, s)
        for t in range(per_subject):
            i = s * per_subject + t
            labels[i] = subj["order"][t]
            signals[i] = _trial_signal(config, subj, s, t, int(labels[i]), n)
    return RawEEG(
        signals=signals,
        labels=labels,
        subject=np.repeat(np.arange(config.n_subjects, dtype=np.int64), per_subject),
        trial=np.tile(np.arange(per_subject, dtype=np.int64), config.n_subjects),
        fs=float(config.fs),
        channel_names=DEAP_CHANNELS,
        class_names=config.class_names,
    )


def make_dummy_dataset(
    config: SyntheticConfig | None = None, *, smoke_test: bool = False, representation: str = "sequence"
) -> EEGDataset:
    """Synthetic raw EEG run through the real feature pipeline, as a ready dataset.

    Args:
        config: What to generate; defaults to :class:`SyntheticConfig` ``()``.
        smoke_test: Shrink to 3 subjects, 2 trials per class and 12 s trials (builds in about a second).
        representation: ``"sequence"`` (``(n, 8, F)`` windows for the CNN+LSTM) or ``"flat"`` (``(n, F)``);
            see :func:`eeg.features.featurize_trials`.

    Returns:
        An :class:`eeg.dataset.EEGDataset` with ``source="synthetic(seed=..., difficulty=...)"``.
    """
    config = config or SyntheticConfig()
    if smoke_test:
        config = replace(config, n_subjects=3, trials_per_class=2, trial_seconds=12.0)
    raw = generate_raw(config)
    X, source = featurize_trials(raw.signals, raw.fs, raw.channel_names, representation=representation)
    return EEGDataset(
        X=X.astype(np.float32, copy=False),
        y=raw.labels[source],
        subject=raw.subject[source],
        trial=raw.trial[source],
        class_names=raw.class_names,
        # A smoke test's tiny data says so: its tuned file must not pass for a full run's.
        source=f"synthetic(seed={config.seed}, difficulty={config.difficulty:g}{', smoke test' if smoke_test else ''})",
    )
