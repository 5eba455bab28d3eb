"""MusiCNN's input in torch: log-compressed mel patches, as the ``musicnn`` package makes them.

16 kHz mono; a centred STFT (n_fft 512, hop 256, periodic Hann, zero-padded ends: librosa's
defaults) to a power spectrogram; 96 mel bands through librosa's default filters (Slaney scale and
area normalisation); ``log10(10000 * x + 1)`` in float32 (the package casts the mel to float16
first, which overflows to infinity on loud music; its training, like this pipeline, did not); and
consecutive, non-overlapping patches of 187 frames (3 s).

Each window is judged on its audio up to its last non-zero sample: the tagger zero-pads a track
shorter than a window, and those zeros are not music. A window whose audio is shorter than one
patch is repeat-padded to one patch, frame by frame, as the models were trained
(``pad_short: repeat-pad``). Patches a window does not reach are NaN, so every window of a batch
has the same number of patches and the method leaves the NaN ones out.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import torch

from trainer.runtime.features import FeaturePipeline, register

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187


@cache
def mel_filters(device: str = "cpu") -> torch.Tensor:
    """librosa's default mel filterbank (96, 257) float32, built once per device."""
    import librosa

    return torch.from_numpy(librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS)).to(device)


@cache
def _hann(device: str) -> torch.Tensor:
    return torch.hann_window(N_FFT, periodic=True, dtype=torch.float32, device=device)


def log_mel(audio: torch.Tensor) -> torch.Tensor:
    """(batch, samples) float32 -> (batch, frames, 96) ``log10(10000 * mel + 1)``, frames = 1 + samples // 256."""
    device = str(audio.device)
    spec = torch.stft(audio, N_FFT, HOP, window=_hann(device), center=True, pad_mode="constant",
                      return_complex=True)
    power = spec.real.square() + spec.imag.square()                       # (batch, 257, frames)
    mel = torch.matmul(mel_filters(device), power)                         # (batch, 96, frames)
    return torch.log10(10000.0 * mel + 1.0).transpose(1, 2)


def frames_of(samples: int) -> int:
    return 1 + samples // HOP


def patch_count(samples: int) -> int:
    """Patches of a window of ``samples``: at least one (short audio is repeat-padded)."""
    return max(1, frames_of(samples) // PATCH_FRAMES)


def to_patches(mel: torch.Tensor, count: int) -> torch.Tensor:
    """(frames, 96) -> (count, 187, 96): consecutive patches, repeat-padded if shorter than one,
    NaN beyond the frames there are."""
    if len(mel) < PATCH_FRAMES:
        mel = mel.repeat(-(-PATCH_FRAMES // len(mel)), 1)[:PATCH_FRAMES]
    have = min(count, len(mel) // PATCH_FRAMES)
    out = torch.full((count, PATCH_FRAMES, mel.shape[1]), float("nan"), dtype=mel.dtype, device=mel.device)
    out[:have] = mel[: have * PATCH_FRAMES].reshape(have, PATCH_FRAMES, -1)
    return out


def audio_length(window: np.ndarray) -> int:
    """Samples up to the last non-zero one (the whole window if it is all zeros)."""
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
        out = torch.empty((n, count, PATCH_FRAMES, N_MELS), dtype=torch.float32)
        with torch.inference_mode():
            whole = np.flatnonzero(lengths == samples)
            if len(whole):   # full windows in one batch
                mel = log_mel(torch.from_numpy(windows[whole]).to(self.device)).cpu()
                for i, m in zip(whole, mel):
                    out[i] = to_patches(m, count)
            for i in np.flatnonzero(lengths < samples):
                mel = log_mel(torch.from_numpy(windows[i, : lengths[i]]).to(self.device)[None])[0].cpu()
                out[i] = to_patches(mel, count)
        return out[:, self.chosen(count)].numpy()
