"""Spectral feature pipelines and spectrogram images, computed from raw mono windows.

Every pipeline maps ``windows`` (n, samples) float32 at ``sample_rate`` to an (n, ...) array and
treats each window on its own (no batch-wide normalisation), so a window's features never depend on
what else is in its batch: training and tagging see the same numbers.

Frame-wise features (seed 003: 10 ms hop, 25 ms Hann window, FFT size the next power of two) are
(n, bins, frames) float32 in librosa's layout; ``frames = 1 + samples // hop`` (centred frames).
Levels are absolute decibels (``power_to_db`` with ``ref=1``, no ``top_db``) for the same reason.

Images are uint8 RGB (n, height, width, 3), drawn like the Kaggle ``images_original`` PNGs (and
checked against them): a librosa-default mel power spectrogram (128 bands, n_fft 2048, hop 512)
through ``amplitude_to_db`` against the window's maximum, floored 80 units below it (so 40 dB of
power, as those images were made), coloured with matplotlib's ``magma``, low frequencies at the
bottom, stretched over the 218x336 plot area of a white 432x288 figure. ``load_png_image`` reads
the real Kaggle PNGs into the same layout.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from trainer.runtime.features import FeaturePipeline, register

SAMPLE_RATE = 22050

# The Kaggle images: a 432x288 figure whose plot area is rows 35..252 and columns 54..389.
KAGGLE_SIZE = (288, 432)                      # (height, width)
PLOT_BOX = (35, 54, 218, 336)                 # (top, left, height, width)
IMAGE_DB_RANGE = 80.0                         # units of 20 log10(power) below the maximum: the darkest colour
IMAGE_COLORMAP = "magma"


def _db(power: np.ndarray) -> np.ndarray:
    """Absolute dB of a power spectrogram, element by element (batch-independent)."""
    import librosa

    return librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=None).astype(np.float32)


def _as_batch(windows: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.asarray(windows, dtype=np.float32))


@dataclass(frozen=True, kw_only=True)
class _Pipeline(FeaturePipeline):
    """Pipelines whose dataclass fields are exactly their parameters."""

    sample_rate: int = SAMPLE_RATE

    @property
    def params(self) -> dict[str, Any]:
        return asdict(self)


@register
@dataclass(frozen=True, kw_only=True)
class Waveform(_Pipeline):
    """The windows themselves, (n, samples) float32, for models that take audio (wav2vec2 at
    16 kHz): the bundle still records the rate, so the tagger resamples exactly as in training."""

    name = "waveform"

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        return _as_batch(windows)


@dataclass(frozen=True, kw_only=True)
class _Framed(_Pipeline):
    """Frame-wise features on a ``hop_ms`` grid (STFT frames of ``win_ms``, Hann, centred)."""

    hop_ms: float = 10.0
    win_ms: float = 25.0

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate * self.hop_ms / 1000))

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate * self.win_ms / 1000))

    @property
    def n_fft(self) -> int:
        return 2 ** math.ceil(math.log2(self.win_length))

    def frames(self, n_samples: int) -> int:
        """Frames produced for a window of ``n_samples``."""
        return 1 + n_samples // self.hop_length

    def _stft_power(self, windows: np.ndarray) -> np.ndarray:
        import librosa

        spec = librosa.stft(_as_batch(windows), n_fft=self.n_fft, hop_length=self.hop_length,
                            win_length=self.win_length)
        return np.abs(spec) ** 2

    def _mel_power(self, windows: np.ndarray, n_mels: int) -> np.ndarray:
        import librosa

        return librosa.feature.melspectrogram(S=self._stft_power(windows), sr=self.sample_rate,
                                              n_fft=self.n_fft, n_mels=n_mels)


@register
@dataclass(frozen=True, kw_only=True)
class LogMel(_Framed):
    """Log-mel spectrogram: (n, n_mels, frames) dB. Seed 003's Mel80."""

    name = "logmel"
    n_mels: int = 80

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        return _db(self._mel_power(windows, self.n_mels))


@register
@dataclass(frozen=True, kw_only=True)
class Mfcc(_Framed):
    """MFCC (DCT-II of ``n_mels`` log-mel bands): (n, n_mfcc, frames). Seed 003's MFCC60."""

    name = "mfcc"
    n_mfcc: int = 60
    n_mels: int = 128

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        import librosa

        log_mel = _db(self._mel_power(windows, self.n_mels))
        return librosa.feature.mfcc(S=log_mel, n_mfcc=self.n_mfcc).astype(np.float32)


@register
@dataclass(frozen=True, kw_only=True)
class Chroma(_Framed):
    """Chromagram from the STFT at A440 tuning, each frame scaled to max 1: (n, n_chroma, frames).

    The window defaults to 100 ms (n_fft 4096 at 22050 Hz): a 25 ms frame cannot tell semitones
    apart below about 400 Hz. Tuning is fixed rather than estimated so batches cannot shift it.
    """

    name = "chroma"
    win_ms: float = 100.0
    n_chroma: int = 12

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        import librosa

        return librosa.feature.chroma_stft(S=self._stft_power(windows), sr=self.sample_rate,
                                           n_fft=self.n_fft, n_chroma=self.n_chroma, tuning=0.0).astype(np.float32)


@register
@dataclass(frozen=True, kw_only=True)
class Cqt(_Pipeline):
    """Constant-Q magnitude in dB from C1 (32.7 Hz): (n, n_bins, 1 + samples // hop). Seed 003's CQT84.

    The CQT has no single window length, so only the hop is a parameter.
    """

    name = "cqt"
    hop_ms: float = 10.0
    n_bins: int = 84
    bins_per_octave: int = 12

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        import librosa

        hop = int(round(self.sample_rate * self.hop_ms / 1000))
        spec = librosa.cqt(_as_batch(windows), sr=self.sample_rate, hop_length=hop,
                           n_bins=self.n_bins, bins_per_octave=self.bins_per_octave)
        return _db(np.abs(spec) ** 2)


@register
@dataclass(frozen=True, kw_only=True)
class FftMagnitude(_Pipeline):
    """Mean magnitude spectrum: (n, n_bins), the first ``n_bins`` bins of an FFT of size
    ``2 (n_bins - 1)`` (0 Hz to Nyquist), averaged over frames. Seed 003's 2049 FFT bins."""

    name = "fft"
    n_bins: int = 2049

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        import librosa

        n_fft = 2 * (self.n_bins - 1)
        spec = np.abs(librosa.stft(_as_batch(windows), n_fft=n_fft, hop_length=n_fft // 4))
        return spec.mean(axis=-1).astype(np.float32)


def _segments(windows: np.ndarray, count: int) -> np.ndarray:
    """Cut each window into ``count`` equal consecutive segments: (n, count, samples // count)."""
    windows = _as_batch(windows)
    length = windows.shape[1] // count
    return windows[:, : count * length].reshape(len(windows), count, length)


@register
@dataclass(frozen=True, kw_only=True)
class MfccSegments(_Pipeline):
    """Seed 002's input: the mean of ``n_mfcc`` MFCCs (librosa defaults) over each ``segment_s``
    segment of the window: (n, samples // (segment_s * sample_rate), n_mfcc); 60 x 20 for 30 s."""

    name = "mfcc-segments"
    n_mfcc: int = 20
    segment_s: float = 0.5

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        import librosa

        windows = _as_batch(windows)
        count = max(1, windows.shape[1] // int(round(self.segment_s * self.sample_rate)))
        mel = librosa.feature.melspectrogram(y=_segments(windows, count), sr=self.sample_rate)
        mfcc = librosa.feature.mfcc(S=_db(mel), n_mfcc=self.n_mfcc)
        return mfcc.mean(axis=-1).astype(np.float32)


@register
@dataclass(frozen=True, kw_only=True)
class MfccChromaPeriods(_Pipeline):
    """Seed 002's RNN input: ``n_mfcc`` MFCC and 12 chroma means over each of ``n_periods`` equal
    periods of the window (librosa's default frames, chroma at A440): (n, n_periods, n_mfcc + 12)."""

    name = "mfcc-chroma-periods"
    n_mfcc: int = 20
    n_periods: int = 12

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        import librosa

        power = np.abs(librosa.stft(_segments(windows, self.n_periods))) ** 2
        mel = librosa.feature.melspectrogram(S=power, sr=self.sample_rate)
        mfcc = librosa.feature.mfcc(S=_db(mel), n_mfcc=self.n_mfcc)
        chroma = librosa.feature.chroma_stft(S=power, sr=self.sample_rate, tuning=0.0)
        return np.concatenate([mfcc.mean(axis=-1), chroma.mean(axis=-1)], axis=-1).astype(np.float32)


@cache
def _palette() -> np.ndarray:
    """The colour map as a (256, 3) uint8 lookup table."""
    import matplotlib

    return matplotlib.colormaps[IMAGE_COLORMAP](np.linspace(0, 1, 256), bytes=True)[:, :3]


def mel_levels(window: np.ndarray, sample_rate: int) -> np.ndarray:
    """Colour-map indices (128 bands, frames) uint8 of the window's mel spectrogram, highest band
    first: 255 at the window's maximum, 0 at ``IMAGE_DB_RANGE`` below it (or for silence).

    ``amplitude_to_db`` of the mel *power* (20 log10 of power) is what matches the Kaggle images.
    """
    import librosa

    power = librosa.feature.melspectrogram(y=np.asarray(window, dtype=np.float32), sr=sample_rate)
    peak = float(power.max())
    if peak > 0:
        db = librosa.amplitude_to_db(power, ref=peak, top_db=IMAGE_DB_RANGE)
    else:  # a silent window: darkest everywhere rather than 0/0
        db = np.full_like(power, -IMAGE_DB_RANGE)
    return np.minimum((db[::-1] + IMAGE_DB_RANGE) / IMAGE_DB_RANGE * 256, 255).astype(np.uint8)


def kaggle_plot(levels: np.ndarray) -> np.ndarray:
    """The 218x336 plot area of a Kaggle image drawn from ``mel_levels``: (218, 336, 3) uint8.

    Geometry measured on the real PNGs: the mesh fills 216.8 rows below a black top line and
    334.8 columns, sampled at the nearest band and frame (matplotlib's mesh is not antialiased);
    the partly covered last row and column are grey (51), three corners darker grey (19).
    """
    bands, frames = levels.shape
    rows = np.minimum(((np.arange(216) + 0.5) * bands / 216.8).astype(int), bands - 1)
    cols = np.minimum(((np.arange(335) + 0.89) * frames / 334.8).astype(int), frames - 1)
    plot = np.zeros((PLOT_BOX[2], PLOT_BOX[3], 3), dtype=np.uint8)
    plot[1:217, :335] = _palette()[levels[np.ix_(rows, cols)]]
    plot[-1, :] = plot[:, -1] = 51
    plot[0, -1] = plot[-1, 0] = plot[-1, -1] = 19
    return plot


@register
@dataclass(frozen=True, kw_only=True)
class SpectrogramImage(_Pipeline):
    """Kaggle-style spectrogram images: (n, 288, 432, 3) uint8, or the (n, 218, 336, 3) plot area
    alone when ``crop`` (seed 000 crops; seed 001 feeds the whole figure)."""

    name = "spectrogram-image"
    crop: bool = False

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        top, left, height, width = PLOT_BOX
        images = []
        for window in _as_batch(windows):
            plot = kaggle_plot(mel_levels(window, self.sample_rate))
            if self.crop:
                images.append(plot)
                continue
            figure = np.full((*KAGGLE_SIZE, 3), 255, dtype=np.uint8)
            figure[top : top + height, left : left + width] = plot
            images.append(figure)
        return np.stack(images)


@register
@dataclass(frozen=True, kw_only=True)
class MelImage(_Pipeline):
    """Seed 004's square mel images: the Kaggle colouring of the mel spectrogram resized
    (bilinear, on the levels) to size x size, no frame: (n, size, size, 3) uint8."""

    name = "mel-image-128"
    size: int = 128

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        return np.stack([
            _palette()[np.asarray(Image.fromarray(mel_levels(w, self.sample_rate))
                                  .resize((self.size, self.size), Image.Resampling.BILINEAR))]
            for w in _as_batch(windows)
        ])


def load_png_image(path: Path | str, crop: bool = False) -> np.ndarray:
    """A Kaggle ``images_original`` PNG as (288, 432, 3) uint8 RGB (alpha dropped), or its
    (218, 336, 3) plot area when ``crop``: the layout ``spectrogram-image`` produces."""
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"))
    if not crop:
        return rgb
    if rgb.shape[:2] != KAGGLE_SIZE:
        raise ValueError(f"{path}: {rgb.shape[1]}x{rgb.shape[0]} image; cropping needs the Kaggle 432x288 layout")
    top, left, height, width = PLOT_BOX
    return rgb[top : top + height, left : left + width]
