"""Models on spectral features (seeds 002 and 003): dense and convolutional networks on the shared
loop, and a random forest on time-averaged frames.

Seed 002 (layer for layer; its segments are trained on one by one and a window's probabilities
are the mean over its segments):

* ``mfcc-fc``: 20 MFCC means of a half-second segment -> dense 300-150 (ReLU) -> genres.
* ``mfcc-cnn``: dense 512, batch norm, LeakyReLU, reshape 32x4x4, conv 64/128/128 2x2 (ReLU,
  valid padding: 4 -> 3 -> 2 -> 1), dropout .5, dense 150-64 (ReLU) -> genres.

Seed 003 (each name with ``-mfcc`` and ``-cqt`` variants beside the Mel80 one; inputs
standardised per bin with training statistics):

* ``fft-mlp``: the first 2049 FFT bins (log magnitude: a choice), dense 1024-512-256-128-64, each
  Linear -> BatchNorm -> GELU -> Dropout(.5): 2,801,098 parameters for 10 genres, as the seed.
* ``cnn2d``: conv 32-64 (3x3, ReLU, 2x2 max-pool after the first), global average pooling,
  dropout .5, linear. ``cnn1d``: conv 128-256-512 (kernel 3, ReLU, max-pool 2 between), global
  average pooling, dropout .5, linear.
* ``rf-mean``: the time-mean of each bin, random forest of 100 trees (scikit-learn defaults
  otherwise), saved with skops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from trainer.runtime.models.base import Model, TrainConfig, families
from trainer.runtime.models.nets import TorchModel, conv_stack, mlp
from trainer.runtime.models.sequence_nets import seed002_train, seed003_train


@dataclass(frozen=True)
class MfccFcConfig:
    hidden: tuple[int, ...] = (300, 150)
    train: TrainConfig = field(default_factory=seed002_train)


@dataclass(frozen=True)
class MfccCnnConfig:
    dense: int = 512
    grid: tuple[int, int, int] = (32, 4, 4)
    conv: tuple[int, ...] = (64, 128, 128)
    kernel: int = 2
    dropout: float = 0.5
    head: tuple[int, ...] = (150, 64)
    train: TrainConfig = field(default_factory=seed002_train)


@dataclass(frozen=True)
class FftMlpConfig:
    hidden: tuple[int, ...] = (1024, 512, 256, 128, 64)
    dropout: float = 0.5
    log: bool = True
    train: TrainConfig = field(default_factory=seed003_train)


@dataclass(frozen=True)
class FrameCnnConfig:
    dims: int = 2
    widths: tuple[int, ...] = (32, 64)
    kernel: int = 3
    dropout: float = 0.5
    train: TrainConfig = field(default_factory=seed003_train)


@dataclass(frozen=True)
class ForestMeanConfig:
    n_estimators: int = 100
    seed: int = 0


class MfccCnn(nn.Module):
    """(batch, n_mfcc) -> logits, seed 002's convolutional network."""

    def __init__(self, n_in: int, c: MfccCnnConfig, n_out: int) -> None:
        super().__init__()
        self.grid = c.grid
        self.dense = nn.Sequential(nn.Linear(n_in, c.dense), nn.BatchNorm1d(c.dense), nn.LeakyReLU())
        self.conv = conv_stack(2, c.grid[0], c.conv, c.kernel, padding=0, pool=1)
        side = [g - len(c.conv) * (c.kernel - 1) for g in c.grid[1:]]
        if min(side) < 1:
            raise ValueError(f"{len(c.conv)} convolutions of {c.kernel}x{c.kernel} do not fit a {c.grid[1]}x{c.grid[2]} grid")
        self.head = nn.Sequential(nn.Dropout(c.dropout), nn.Flatten(),
                                  mlp(c.conv[-1] * side[0] * side[1], c.head, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(self.dense(x).reshape(len(x), *self.grid)))


class FrameCnn(nn.Module):
    """(batch, bins, frames) -> logits. 2-D: the spectrogram as one channel; 1-D: bins as channels.
    Convolution blocks, global average pooling, dropout, linear."""

    def __init__(self, n_bins: int, c: FrameCnnConfig, n_out: int) -> None:
        super().__init__()
        self.dims = c.dims
        in_channels = 1 if c.dims == 2 else n_bins
        self.features = conv_stack(c.dims, in_channels, c.widths, c.kernel, padding=c.kernel // 2, pool_last=False)
        self.out = nn.Sequential(nn.Dropout(c.dropout), nn.Linear(c.widths[-1], n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.features(x.unsqueeze(1) if self.dims == 2 else x)
        return self.out(maps.flatten(2).mean(dim=2))


class SpectralNetModel(TorchModel):
    """Vectors or (bins, frames) maps standardised per bin (the first axis of an example)."""

    config_families: ClassVar[dict[type, str]] = {FftMlpConfig: "spectral_nets.fft-mlp", FrameCnnConfig: "spectral_nets.frame-cnn"}
    keep_axes = (0,)

    def build(self, input_shape: tuple[int, ...]) -> nn.Module:
        c, n_out = self.config, len(self.labels)
        if isinstance(c, MfccFcConfig):
            return mlp(input_shape[0], c.hidden, n_out)
        if isinstance(c, MfccCnnConfig):
            return MfccCnn(input_shape[0], c, n_out)
        if isinstance(c, FftMlpConfig):
            return mlp(input_shape[0], c.hidden, n_out, nn.GELU, batch_norm=True, dropout=c.dropout)
        return FrameCnn(input_shape[0], c, n_out)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return np.log(x + 1e-6) if getattr(self.config, "log", False) else x


class SegmentNetModel(SpectralNetModel):
    """Seed 002: (n, segments, n_mfcc) rows; a window's probabilities are the mean over its segments."""

    config_families: ClassVar[dict[type, str]] = {MfccFcConfig: "spectral_nets.mfcc-fc", MfccCnnConfig: "spectral_nets.mfcc-cnn"}
    stacked = True


class ForestMeanModel(Model):
    """(n, bins, frames) -> time-mean per bin (n, bins) -> random forest, saved with skops."""

    config_families: ClassVar[dict[type, str]] = {ForestMeanConfig: "spectral_nets.rf-mean"}
    model_file = "model.skops"

    @staticmethod
    def _means(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return x.mean(axis=-1) if x.ndim == 3 else x

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        proba = np.zeros((len(x), len(self.labels)))
        proba[:, self.model.classes_] = self.model.predict_proba(self._means(x))
        return proba

    def save(self, folder: Path) -> list[str]:
        import skops.io

        skops.io.dump(self.model, Path(folder) / self.model_file)
        return [self.model_file]

    def load_weights(self, folder: Path) -> None:
        from trainer.runtime.bundle import load_skops

        self.model = load_skops(Path(folder) / self.model_file, len(self.labels))


FAMILIES = families(SpectralNetModel, SegmentNetModel, ForestMeanModel)
