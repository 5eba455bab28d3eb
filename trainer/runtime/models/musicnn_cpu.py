"""MusiCNN's forward pass in numpy: the CPU engine, with no torch to import.

The same network as the torch port (``MusiCNN``: same weights file, same outputs within float32
rounding), arranged for a CPU. Every convolution is a matrix product of the input's sliding
windows with the filters, and most of the converted filters are linear combinations of a few: the
MSD tagger's 204 timbral filters of 7x38 span only 23 dimensions, its 7x67 ones 14, its temporal
banks 3, 7 and 17, its first mid-end layer 20. Where a bank's singular values beyond some rank are
below ``RANK_TOLERANCE`` of its largest (the rest of the product then changes by less than float32
rounding does), the product runs through the two factors of that rank, found at load time, which
cuts the network's work about fivefold for the MSD tagger; a bank of full rank (the MTT tagger's
first timbral one) runs as it is. Each factored bank's first factor is spread, once at load time,
into matrices that give many output positions in one product of large, efficient shape: a
timbral bank's (7 frames x the bands of 16 neighbouring positions, 16 positions x rank), each
position's filter placed at its bands, so the products read each output frame's 7 input frames
instead of a copy of every 7x38 window; a temporal bank's (64 + taps - 1 frames, 64 frames x
rank), banded. The maximum over positions then takes the second factor's products a few frames at
a time, while they are in cache. A mid-end layer multiplies every frame by all seven taps at once
and sums the shifted rows, rather than copying out 7-frame windows. The front end's filters are
signed so that a maximum over frequency is all that is kept, as in the torch port (ReLU and an
eval batch norm are monotone per channel); eval batch norms are affine maps, the one before the
dense layer folded into its weights.

CPU time a patch, one thread, 40 real patches in chunks of four: 113 ms for the torch port, 38 ms
for this engine with plain factored products (2 cores at load average 7 to 8, interleaved with
the port), 19.5 ms (median of 5 runs, 18.8 to 20.5) with the spread matrices and cached maxima
(load average under 2.5, nothing else running). Held to the original package's recorded outputs
by ``tests/trainer/musicnn`` exactly as the torch port is.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from safetensors.numpy import load_file
from threadpoolctl import threadpool_limits

PATCH_FRAMES = 187
N_MELS = 96
BN_EPS = 1e-3                  # tf.compat.v1.layers.batch_normalization's default
MIDEND_KERNEL = 7
RANK_TOLERANCE = 1e-6
# Output frames whose products a timbral bank takes its maximum over at once (about 1 MB).
MAX_BLOCK = 16
# Positions of a timbral bank one product gives: its matrix then spans 16 + width - 1 bands rather
# than all 96, multiplying fewer zeros (4 products for the 7x38 bank, 2 for the 7x67 one: measured
# 30% faster than one product over all positions).
GROUP_POSITIONS = 16
# Output frames of a temporal bank one banded product gives (three products a patch): fewer zeros
# multiplied than one product over all 187 frames, about 20% faster.
BANDED_FRAMES = 64
# Patches per pass through the network: a full-rank bank (the MTT tagger's first timbral one) copies
# out its windows, about 20 MB a patch with their products; a factored bank's take about 1 MB.
CHUNK = 4
OUTPUTS = ("logits", "probs", "timbral", "temporal", "cnn1", "cnn2", "cnn3", "max_pool", "mean_pool", "penultimate")


def _affine(w: dict[str, np.ndarray], prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """The eval-mode batch norm ``prefix`` as ``x * scale + shift``."""
    scale = w[f"{prefix}.weight"] / np.sqrt(w[f"{prefix}.running_var"] + BN_EPS)
    return scale, w[f"{prefix}.bias"] - w[f"{prefix}.running_mean"] * scale


class _Product:
    """``x @ matrix`` (float64 ``matrix`` given, float32 used), through two thin factors when the
    matrix has a numerical rank low enough to make them cheaper."""

    def __init__(self, matrix: np.ndarray) -> None:
        u, s, vt = np.linalg.svd(matrix, full_matrices=False)
        rank = int((s > RANK_TOLERANCE * s[0]).sum())
        if rank * sum(matrix.shape) < matrix.size:
            self.factors = ((u[:, :rank] * s[:rank]).astype(np.float32), vt[:rank].astype(np.float32))
        else:
            self.factors = (matrix.astype(np.float32),)

    @property
    def rank(self) -> int:
        return self.factors[0].shape[1]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for factor in self.factors:
            x = x @ factor
        return x


def _max_of_products(conv: np.ndarray, factor: np.ndarray, rows: int = MAX_BLOCK) -> np.ndarray:
    """``(conv @ factor).max(axis=1)`` for (N, positions, rank) ``conv``, ``rows`` at a time, so
    that each block's products stay in cache rather than going out to memory and back."""
    out = np.empty((len(conv), factor.shape[1]), np.float32)
    for start in range(0, len(conv), rows):
        np.max(conv[start : start + rows] @ factor, axis=1, out=out[start : start + rows])
    return out


@dataclass(frozen=True)
class _FrontBank:
    """One front-end bank: ``bn(relu(conv))`` of the (frames, bands) patch, then the maximum over
    bands, computed as the maximum of the filters times the sign of the norm's scale."""

    kernel: tuple[int, int]          # (frames, bands)
    pad: tuple[int, int]             # zero frames before and after (after the input batch norm)
    product: _Product                # sliding windows (frames x bands) -> signed filter outputs
    sign: np.ndarray
    bias: np.ndarray
    scale: np.ndarray
    shift: np.ndarray
    # A factored temporal bank's first factor at each of ``BANDED_FRAMES`` output frames:
    # (BANDED_FRAMES + taps - 1 input frames, BANDED_FRAMES x rank), banded.
    banded: np.ndarray | None = None
    # A factored timbral bank's first factor spread over a few neighbouring positions at a time:
    # (first band, band past the last, (frames x those bands, positions x rank)), each position's
    # filter placed at its bands, so that one product gives all the group's positions.
    groups: tuple[tuple[int, int, np.ndarray], ...] = ()

    @classmethod
    def of(cls, w: dict[str, np.ndarray], prefix: str, pad: tuple[int, int]) -> _FrontBank:
        kernel = w[f"{prefix}.conv.weight"][:, 0]                                  # (filters, frames, bands)
        scale, shift = _affine(w, f"{prefix}.bn")
        sign = np.where(scale >= 0, 1.0, -1.0)
        signed = (kernel * sign[:, None, None]).reshape(len(kernel), -1).T
        product = _Product(signed)
        frames, width = kernel.shape[1:]
        banded, groups = None, []
        if len(product.factors) > 1 and width == 1:
            first = product.factors[0]
            banded = np.zeros((BANDED_FRAMES + frames - 1, BANDED_FRAMES, product.rank), np.float32)
            for frame in range(frames):
                banded[np.arange(BANDED_FRAMES) + frame, np.arange(BANDED_FRAMES)] = first[frame]
            banded = banded.reshape(len(banded), -1)
        elif len(product.factors) > 1:
            first = product.factors[0].reshape(frames, width, -1)
            positions = N_MELS - width + 1
            for start in range(0, positions, GROUP_POSITIONS):
                count = min(GROUP_POSITIONS, positions - start)
                matrix = np.zeros((frames, count + width - 1, count, product.rank), np.float32)
                for position in range(count):
                    matrix[:, position : position + width, position] = first
                groups.append((start, start + count + width - 1, matrix.reshape(frames * (count + width - 1), -1)))
        return cls((frames, width), pad, product,
                   *(a.astype(np.float32) for a in (sign, w[f"{prefix}.conv.bias"], scale, shift)),
                   banded, tuple(groups))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(B, 187, 96) normalised patches -> (B * 187, filters)."""
        frames, width = self.kernel
        rank = self.product.rank
        rows = len(x) * PATCH_FRAMES
        if self.banded is not None:   # temporal: each band's frames, a block of output frames at a time
            blocks = -(-PATCH_FRAMES // BANDED_FRAMES)
            after = self.pad[1] + blocks * BANDED_FRAMES - PATCH_FRAMES
            series = np.pad(x.transpose(0, 2, 1), ((0, 0), (0, 0), (self.pad[0], after)))     # (B, 96, frames)
            spans = np.ascontiguousarray(sliding_window_view(series, len(self.banded), axis=2)[:, :, ::BANDED_FRAMES])
            conv = (spans.reshape(-1, len(self.banded)) @ self.banded).reshape(len(x), N_MELS, blocks * BANDED_FRAMES,
                                                                               rank)
            extreme = (conv[:, :, :PATCH_FRAMES] @ self.product.factors[1]).max(axis=1)
        elif self.groups:   # timbral: each output frame's 7 input frames, a group of positions at a time
            padded = np.pad(x, ((0, 0), self.pad, (0, 0)))
            windows = sliding_window_view(padded, frames, axis=1).transpose(0, 1, 3, 2)      # (B, 187, frames, 96)
            conv = np.concatenate([np.ascontiguousarray(windows[..., low:high]).reshape(rows, len(matrix)) @ matrix
                                   for low, high, matrix in self.groups], axis=1)
            extreme = _max_of_products(conv.reshape(rows, N_MELS - width + 1, rank), self.product.factors[1])
        else:   # full rank: the windows over frames and bands, copied out once
            padded = np.pad(x, ((0, 0), self.pad, (0, 0)))
            windows = sliding_window_view(padded, self.kernel, axis=(1, 2))     # (B, 187, positions, frames, width)
            conv = self.product(windows.reshape(-1, frames * width))
            extreme = conv.reshape(rows, windows.shape[2], conv.shape[-1]).max(axis=1)
        extreme = extreme.reshape(len(x) * PATCH_FRAMES, len(self.sign)) * self.sign
        return np.maximum(extreme + self.bias, 0.0) * self.scale + self.shift


@dataclass(frozen=True)
class _MidendLayer:
    """``bn(relu(conv1d))`` over frames, 'same' padding. The first factor multiplies every frame
    once per tap, (in, 7 taps x rank), and each output frame sums its seven taps' shifted rows:
    no copy of the 7-frame windows (four times the feature map) is made."""

    taps: np.ndarray                 # (in, 7 x rank): the first factor, tap-major columns
    rest: tuple[np.ndarray, ...]
    bias: np.ndarray
    scale: np.ndarray
    shift: np.ndarray

    @classmethod
    def of(cls, w: dict[str, np.ndarray], prefix: str) -> _MidendLayer:
        kernel = w[f"{prefix}.conv.weight"]                                        # (out, in, 7)
        first, *rest = _Product(kernel.reshape(len(kernel), -1).T).factors         # rows: (in, tap)
        taps = first.reshape(kernel.shape[1], MIDEND_KERNEL * first.shape[1])
        return cls(taps, tuple(rest),
                   *(a.astype(np.float32) for a in (w[f"{prefix}.conv.bias"], *_affine(w, f"{prefix}.bn"))))

    def __call__(self, h: np.ndarray) -> np.ndarray:
        """(B, 187, in) -> (B, 187, out)."""
        half = MIDEND_KERNEL // 2
        per_tap = (np.pad(h, ((0, 0), (half, half), (0, 0))) @ self.taps).reshape(
            len(h), PATCH_FRAMES + 2 * half, MIDEND_KERNEL, self.taps.shape[1] // MIDEND_KERNEL)
        y = per_tap[:, :PATCH_FRAMES, 0].copy()
        for tap in range(1, MIDEND_KERNEL):
            y += per_tap[:, tap : tap + PATCH_FRAMES, tap]
        for factor in self.rest:
            y = y @ factor
        y += self.bias
        return np.maximum(y, 0.0) * self.scale + self.shift


def _same(kernel: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding at stride 1: the odd extra frame goes after, not before."""
    return (kernel - 1) // 2, kernel // 2


class MusicnnCpu:
    """MusiCNN in eval mode from the torch port's state dict (``musicnn.safetensors``).

    ``__call__(patches, keys)`` takes (batch, 187, 96) log-mel patches and gives ``keys`` of
    ``OUTPUTS``, shaped as ``MusiCNN.forward`` gives them (feature maps channels first), running
    ``threads`` groups of patches at once (default: one per core).
    """

    def __init__(self, weights: dict[str, np.ndarray], threads: int | None = None) -> None:
        self.threads = threads or os.cpu_count() or 1
        w = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
        scale, shift = _affine(w, "input_bn")
        self.input_scale, self.input_shift = np.float32(scale[0]), np.float32(shift[0])
        self.timbral = [_FrontBank.of(w, f"timbral.{i}", (3, 3)) for i in range(2)]
        self.temporal = [_FrontBank.of(w, f"temporal.{i}", _same(w[f"temporal.{i}.conv.weight"].shape[2]))
                         for i in range(3)]
        self.midend = [_MidendLayer.of(w, f"midend.{i}") for i in range(3)]
        scale, shift = _affine(w, "pool_bn")
        dense = w["dense.weight"]
        self.dense = ((dense * scale).T.astype(np.float32), (dense @ shift + w["dense.bias"]).astype(np.float32))
        self.dense_bn = tuple(a.astype(np.float32) for a in _affine(w, "dense_bn"))
        self.output = (w["output.weight"].T.astype(np.float32), w["output.bias"].astype(np.float32))

    @classmethod
    def load(cls, weights_file: Path | str) -> MusicnnCpu:
        return cls(load_file(str(weights_file)))

    def __call__(self, patches: np.ndarray, keys: tuple[str, ...] = ("probs",)) -> dict[str, np.ndarray]:
        unknown = set(keys) - set(OUTPUTS)
        if unknown:
            raise KeyError(f"MusiCNN has no output {sorted(unknown)}; it has {', '.join(OUTPUTS)}")
        x = np.asarray(patches, dtype=np.float32).reshape(-1, PATCH_FRAMES, N_MELS)
        # One BLAS thread per chunk and the chunks on a thread per core: BLAS's own threads, on a
        # busy machine, spin for a share of the cores and cost 4x the CPU for the same products.
        with threadpool_limits(1), ThreadPoolExecutor(self.threads) as pool:
            parts = list(pool.map(lambda i: self._forward(x[i : i + CHUNK], keys), range(0, max(len(x), 1), CHUNK)))
        return {k: np.concatenate([part[k] for part in parts]) for k in keys}

    def _forward(self, x: np.ndarray, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
        """``keys`` for a few patches (B, 187, 96)."""
        normalised = x * self.input_scale + self.input_shift
        front = np.concatenate([bank(normalised) for bank in self.timbral + self.temporal], axis=1)
        maps = [front.reshape(len(x), PATCH_FRAMES, front.shape[1])]                   # (B, 187, 561)
        for i, layer in enumerate(self.midend):
            maps.append(layer(maps[-1]) + (maps[-1] if i else 0.0))                   # residual after the first
        features = np.concatenate(maps, axis=2)                                        # (B, 187, 753)
        max_pool, mean_pool = features.max(axis=1), features.mean(axis=1)
        pooled = np.stack([max_pool, mean_pool], axis=2).reshape(len(x), 2 * features.shape[2])   # max_0, mean_0, ...
        penultimate = np.maximum(pooled @ self.dense[0] + self.dense[1], 0.0) * self.dense_bn[0] + self.dense_bn[1]
        logits = penultimate @ self.output[0] + self.output[1]
        timbral = 2 * len(self.timbral[0].sign)
        out = {"logits": logits, "probs": 1.0 / (1.0 + np.exp(-logits)), "max_pool": max_pool, "mean_pool": mean_pool,
               "penultimate": penultimate, "timbral": maps[0][..., :timbral].transpose(0, 2, 1),
               "temporal": maps[0][..., timbral:].transpose(0, 2, 1),
               **{f"cnn{i}": maps[i].transpose(0, 2, 1) for i in (1, 2, 3)}}
        return {k: out[k] for k in keys}
