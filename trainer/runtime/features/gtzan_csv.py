"""The GTZAN CSV feature set (``features_30_sec.csv``): 58 librosa features of a 30-s clip.

Columns, in the CSV's order: length, chroma_stft, rms, spectral centroid, bandwidth and rolloff,
zero-crossing rate, harmonic and percussive signal (``effects.hpss``), each as mean and variance,
then tempo (as ``beat.beat_track`` estimates it) and the mean and variance of 20 MFCCs. Every
transform uses librosa's defaults at 22050 Hz (n_fft 2048, hop 512), which is how the CSV was made.

Two engines compute the same columns: ``librosa`` (the reference, about two seconds of one core per
window) and ``torch`` (batched, CPU or CUDA; ``trainer.runtime.features.gtzan_torch``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from trainer.runtime.features import FeaturePipeline, register

SAMPLE_RATE = 22050

_STATS = ("chroma_stft", "rms", "spectral_centroid", "spectral_bandwidth", "rolloff",
          "zero_crossing_rate", "harmony", "perceptr")
COLUMNS: tuple[str, ...] = (
    "length",
    *(f"{name}_{stat}" for name in _STATS for stat in ("mean", "var")),
    "tempo",
    *(f"mfcc{i}_{stat}" for i in range(1, 21) for stat in ("mean", "var")),
)
assert len(COLUMNS) == 58

Engine = Literal["librosa", "torch"]


def librosa_features(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The 58 CSV columns of one mono clip, with librosa's defaults (the reference engine)."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    harmonic, percussive = librosa.effects.hpss(y)
    series = (
        librosa.feature.chroma_stft(y=y, sr=sr),
        librosa.feature.rms(y=y),
        librosa.feature.spectral_centroid(y=y, sr=sr),
        librosa.feature.spectral_bandwidth(y=y, sr=sr),
        librosa.feature.spectral_rolloff(y=y, sr=sr),
        librosa.feature.zero_crossing_rate(y),
        harmonic,
        percussive,
    )
    row: list[float] = [float(len(y))]
    for s in series:
        row += [float(np.mean(s)), float(np.var(s))]
    # beat_track's tempo: onset strength aggregated by the median over mel bands (the CSV's
    # values match this, not feature.tempo's default mean aggregation)
    onset = librosa.onset.onset_strength(y=y, sr=sr, aggregate=np.median)
    row.append(float(np.atleast_1d(librosa.feature.tempo(onset_envelope=onset, sr=sr))[0]))
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    for coefficient in mfcc:
        row += [float(np.mean(coefficient)), float(np.var(coefficient))]
    return np.asarray(row, dtype=np.float64)


@register
class GtzanCsvFeatures(FeaturePipeline):
    """Windows (n, samples) at 22050 Hz -> (n, 58) float64 in ``COLUMNS`` order."""

    name = "gtzan-csv"

    def __init__(self, engine: Engine = "librosa", device: str = "cpu") -> None:
        if engine not in ("librosa", "torch"):
            raise ValueError(f"unknown engine {engine!r}: choose 'librosa' or 'torch'")
        self.engine = engine
        self.device = device
        self.sample_rate = SAMPLE_RATE

    @property
    def params(self) -> dict[str, Any]:
        return {"engine": self.engine}

    def fastest(self, device: str = "cpu") -> GtzanCsvFeatures:
        """The torch engine: it matches librosa within the CSV test's tolerances per column and
        the default model's predictions agree on real clips (tests/trainer/runtime/features)."""
        return GtzanCsvFeatures(engine="torch", device=device)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        windows = np.atleast_2d(np.asarray(windows, dtype=np.float32))
        if self.engine == "torch":
            from trainer.runtime.features.gtzan_torch import torch_features

            return torch_features(windows, self.sample_rate, device=self.device)
        return np.stack([librosa_features(w, self.sample_rate) for w in windows])
