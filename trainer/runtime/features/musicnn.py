"""MusiCNN's input: log-compressed mel patches, as the ``musicnn`` package makes them, computed with
numpy on the CPU (so tagging on a CPU never imports torch) and with torch on a GPU.

16 kHz mono; a centred STFT (n_fft 512, hop 256, periodic Hann, zero-padded ends: librosa's
defaults) to a power spectrogram; 96 mel bands through librosa's default filters (Slaney scale and
area normalisation); ``log10(10000 * x + 1)`` in float32 (the package casts the mel to float16
first, which overflows to infinity on loud music; its training, like this pipeline, did not); and
consecutive, non-overlapping patches of 187 frames (3 s). The filterbank is librosa's formula,
written out here because importing librosa's filters costs seconds at start-up; a test holds it to
librosa's own.

Each window is judged on its audio up to its last non-zero sample: the tagger zero-pads a track
shorter than a window, and those zeros are not music. A window whose audio is shorter than one
patch is repeat-padded to one patch, frame by frame, as the models were trained
(``pad_short: repeat-pad``). Patches a window does not reach are NaN, so every window of a batch
has the same number of patches and the method leaves the NaN ones out.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from trainer.runtime.features import FeaturePipeline, register

if TYPE_CHECKING:
    import torch

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    mel = hz / (200.0 / 3)
    log_region = hz >= 1000.0
    return np.where(log_region, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    hz = mel * (200.0 / 3)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), hz)


@cache
def mel_filters() -> np.ndarray:
    """librosa's default mel filterbank for this front end, (96, 257) float32: triangles between
    Slaney-scale band edges from 0 Hz to 8 kHz, each scaled to unit area (``norm="slaney"``)."""
    fft_hz = np.linspace(0.0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(SAMPLE_RATE / 2.0)), N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


@cache
def _hann_numpy() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)   # periodic


def log_mel(audio: np.ndarray, device: str = "cpu", frames: np.ndarray | None = None) -> np.ndarray:
    """(batch, samples) float32 -> (batch, frames, 96) ``log10(10000 * mel + 1)``, frames = 1 +
    samples // 256: numpy on the CPU, torch on ``device`` otherwise. ``frames`` (numpy only): just
    these frames, each as in the whole spectrogram (up to float32 rounding)."""
    if device != "cpu":
        return _log_mel_torch(audio, device)
    padded = np.pad(audio, ((0, 0), (N_FFT // 2, N_FFT // 2)))
    view = sliding_window_view(padded, N_FFT, axis=1)[:, ::HOP]                      # (batch, frames, 512)
    spec = np.fft.rfft((view if frames is None else view[:, frames]) * _hann_numpy(), axis=-1)
    power = spec.real * spec.real + spec.imag * spec.imag                             # (batch, frames, 257)
    return np.log10(np.float32(10000.0) * (power @ mel_filters().T) + np.float32(1.0)).astype(np.float32)


@cache
def _torch_constants(device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The Hann window and the filterbank on ``device``, made once per device."""
    import torch

    return (torch.hann_window(N_FFT, periodic=True, dtype=torch.float32, device=device),
            torch.from_numpy(mel_filters()).to(device))


def _log_mel_torch(audio: np.ndarray, device: str) -> np.ndarray:
    import torch

    window, filters = _torch_constants(device)
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(audio)).to(device)
        spec = torch.stft(x, N_FFT, HOP, window=window, center=True, pad_mode="constant", return_complex=True)
        power = spec.real.square() + spec.imag.square()                               # (batch, 257, frames)
        mel = torch.matmul(filters, power)
        return torch.log10(10000.0 * mel + 1.0).transpose(1, 2).cpu().numpy()


def frames_of(samples: int) -> int:
    return 1 + samples // HOP


def patch_count(samples: int) -> int:
    """Patches of a window of ``samples``: at least one (short audio is repeat-padded)."""
    return max(1, frames_of(samples) // PATCH_FRAMES)


def to_patches(mel: np.ndarray, count: int) -> np.ndarray:
    """(frames, 96) -> (count, 187, 96): consecutive patches, repeat-padded if shorter than one,
    NaN beyond the frames there are."""
    if len(mel) < PATCH_FRAMES:
        mel = np.tile(mel, (-(-PATCH_FRAMES // len(mel)), 1))[:PATCH_FRAMES]
    have = min(count, len(mel) // PATCH_FRAMES)
    out = np.full((count, PATCH_FRAMES, mel.shape[1]), np.nan, dtype=np.float32)
    out[:have] = mel[: have * PATCH_FRAMES].reshape(have, PATCH_FRAMES, -1)
    return out


def audio_length(window: np.ndarray) -> int:
    """Samples up to the last non-zero one (the whole window if it is all zeros)."""
    if len(window) and window[-1] != 0:   # nearly every window: no search through it
        return len(window)
    nonzero = np.flatnonzero(window)
    return int(nonzero[-1]) + 1 if len(nonzero) else len(window)


@register
class MusicnnMel(FeaturePipeline):
    """``windows`` (n, samples) at 16 kHz -> (n, P, 187, 96) float32 log-mel patches, P the
    patches of a full window (``patch_count``), or ``patches`` of them spread over it.
    ``device`` is where the STFT runs; the tagger sets it, and it is not a parameter of the bundle."""

    name = "musicnn-mel"

    def __init__(self, sample_rate: int = SAMPLE_RATE, patches: int | None = None) -> None:
        if sample_rate != SAMPLE_RATE:
            raise ValueError(f"musicnn-mel works at {SAMPLE_RATE} Hz, not {sample_rate}")
        if patches is not None and patches < 1:
            raise ValueError("patches must be at least 1 (or None for all)")
        self.sample_rate = sample_rate
        self.patches = patches
        self.device = "cpu"

    @property
    def params(self) -> dict[str, Any]:
        return {"sample_rate": self.sample_rate, "patches": self.patches}

    def chosen(self, count: int) -> np.ndarray:
        """Which of a window's ``count`` patches are kept: all, or ``patches`` of them spread
        evenly from the first to the last (a faster, approximate window policy)."""
        if self.patches is None or self.patches >= count:
            return np.arange(count)
        return np.unique(np.linspace(0, count - 1, self.patches).round().astype(int))

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        windows = np.atleast_2d(np.asarray(windows, dtype=np.float32))
        n, samples = windows.shape
        count = patch_count(samples)
        lengths = np.array([audio_length(w) for w in windows])
        chosen = self.chosen(count)
        out = np.empty((n, len(chosen), PATCH_FRAMES, N_MELS), dtype=np.float32)
        # windows whose audio fills them (shorter ones are repeat-padded or end early: to_patches)
        whole = np.flatnonzero((lengths == samples) & (frames_of(samples) >= PATCH_FRAMES))
        if self.device == "cpu":   # numpy: one full window at a time (its STFT stays in cache: 11 ms a
            # window, against 52 for 30 at once), and only the frames of the patches judged
            frames = (chosen[:, None] * PATCH_FRAMES + np.arange(PATCH_FRAMES)).ravel()
            for i in whole:
                out[i] = log_mel(windows[i, None], frames=frames).reshape(len(chosen), PATCH_FRAMES, N_MELS)
        elif len(whole):   # a GPU: full windows in one batch
            for i, mel in zip(whole, log_mel(windows[whole], self.device)):
                out[i] = to_patches(mel, count)[chosen]
        for i in np.setdiff1d(np.arange(n), whole):
            out[i] = to_patches(log_mel(windows[i, None, : lengths[i]], self.device)[0], count)[chosen]
        return out
