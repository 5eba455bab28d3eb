"""Recurrent and attention networks over frame sequences (seeds 002 and 003), on the shared loop.

Seed 003's models read (n, bins, frames) log-mel (80 bands), MFCC (60) or CQT (84 bins) on a
10 ms hop; each registered name has ``-mfcc`` and ``-cqt`` variants beside the Mel one, and
inputs are standardised per bin with training statistics.

* ``bilstm-attn`` / ``bigru-attn``: a bidirectional LSTM (H=16) / GRU (H=32), softmax attention
  over time (one linear score per frame), the attention-weighted sum, a linear layer.
* ``transformer``: 4 encoder layers with ``d_model`` the number of bins, 4 heads and
  dim_feedforward 16 (seed 003), sinusoidal positions and the mean over time (choices: the seed
  gives neither). Frames are averaged 4 at a time first (40 ms steps) so attention over a 30-s
  window stays affordable (also a choice).
* ``mfcc-chroma-rnn`` (seed 002, layer for layer): 20 MFCC + 12 chroma means over 12 periods,
  flattened (384), dense 256, batch norm, reshaped to 16 steps x 16, LSTM 128, LSTM 32, dense.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import torch
from torch import nn

from trainer.runtime.models.base import TrainConfig, families
from trainer.runtime.models.nets import TorchModel


def seed002_train() -> TrainConfig:
    """Seed 002's schedule, shared by its networks here and in ``spectral_nets``."""
    return TrainConfig(epochs=100, batch_size=32, lr=1e-3, patience=10)


def seed003_train() -> TrainConfig:
    """Seed 003's schedule, shared by its networks here and in ``spectral_nets``."""
    return TrainConfig(epochs=50, batch_size=32, lr=1e-3, patience=10)


@dataclass(frozen=True)
class RnnAttentionConfig:
    cell: Literal["lstm", "gru"] = "lstm"
    hidden: int = 16
    time_pool: int = 1
    train: TrainConfig = field(default_factory=seed003_train)


@dataclass(frozen=True)
class TransformerConfig:
    layers: int = 4
    heads: int = 4
    dim_feedforward: int = 16
    dropout: float = 0.1
    time_pool: int = 4
    train: TrainConfig = field(default_factory=seed003_train)


@dataclass(frozen=True)
class MfccChromaRnnConfig:
    dense: int = 256
    steps: int = 16
    lstm: tuple[int, ...] = (128, 32)
    train: TrainConfig = field(default_factory=seed002_train)


class TimeFirst(nn.Module):
    """(batch, bins, frames) -> (batch, frames / pool, bins), frames averaged ``pool`` at a time."""

    def __init__(self, pool: int) -> None:
        super().__init__()
        self.pool = nn.AvgPool1d(pool, ceil_mode=True) if pool > 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x).transpose(1, 2)


class RnnAttention(nn.Module):
    """(batch, bins, frames) -> logits: bidirectional RNN, softmax attention over time, linear."""

    def __init__(self, n_in: int, c: RnnAttentionConfig, n_out: int) -> None:
        super().__init__()
        self.frames = TimeFirst(c.time_pool)
        rnn = nn.LSTM if c.cell == "lstm" else nn.GRU
        self.rnn = rnn(n_in, c.hidden, batch_first=True, bidirectional=True)
        self.score = nn.Linear(2 * c.hidden, 1)
        self.out = nn.Linear(2 * c.hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(self.frames(x))                                  # (B, T, 2H)
        weights = torch.softmax(self.score(h), dim=1)                    # (B, T, 1)
        return self.out((weights * h).sum(dim=1))


def sinusoids(length: int, dim: int) -> torch.Tensor:
    """(length, dim) sinusoidal position codes (Vaswani et al. 2017)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    codes = torch.zeros(length, dim)
    codes[:, 0::2] = torch.sin(position * rate)
    codes[:, 1::2] = torch.cos(position * rate[: dim // 2])
    return codes


class FrameTransformer(nn.Module):
    """(batch, bins, frames) -> logits: encoder layers over frames (d_model = bins), mean, linear."""

    def __init__(self, n_in: int, c: TransformerConfig, n_out: int) -> None:
        super().__init__()
        if n_in % c.heads:
            raise ValueError(f"{n_in} input bins cannot be split over {c.heads} attention heads")
        self.frames = TimeFirst(c.time_pool)
        layer = nn.TransformerEncoderLayer(n_in, c.heads, dim_feedforward=c.dim_feedforward, dropout=c.dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, c.layers, enable_nested_tensor=False)
        self.out = nn.Linear(n_in, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = self.frames(x)
        seq = seq + sinusoids(seq.shape[1], seq.shape[2]).to(seq.device, seq.dtype)
        return self.out(self.encoder(seq).mean(dim=1))


class MfccChromaRnn(nn.Module):
    """(batch, periods, features) -> logits, seed 002's recurrent network."""

    def __init__(self, input_shape: tuple[int, ...], c: MfccChromaRnnConfig, n_out: int) -> None:
        super().__init__()
        if c.dense % c.steps:
            raise ValueError(f"dense {c.dense} cannot be reshaped into {c.steps} steps")
        self.steps = c.steps
        self.dense = nn.Linear(math.prod(input_shape), c.dense)
        self.norm = nn.BatchNorm1d(c.dense)
        sizes = (c.dense // c.steps, *c.lstm)
        self.lstms = nn.ModuleList(nn.LSTM(a, b, batch_first=True) for a, b in zip(sizes, sizes[1:]))
        self.out = nn.Linear(sizes[-1], n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = self.norm(self.dense(x.flatten(1))).reshape(len(x), self.steps, -1)
        for lstm in self.lstms:
            seq, _ = lstm(seq)
        return self.out(seq[:, -1])


class SequenceModel(TorchModel):
    """(n, bins, frames) frame features, standardised per bin."""

    config_families: ClassVar[dict[type, str]] = {RnnAttentionConfig: "sequence_nets.rnn-attention", TransformerConfig: "sequence_nets.transformer"}
    keep_axes = (0,)

    def build(self, input_shape: tuple[int, ...]) -> nn.Module:
        if isinstance(self.config, TransformerConfig):
            return FrameTransformer(input_shape[0], self.config, len(self.labels))
        return RnnAttention(input_shape[0], self.config, len(self.labels))


class MfccChromaRnnModel(TorchModel):
    """(n, periods, 32) MFCC+chroma means, standardised per feature."""

    config_families: ClassVar[dict[type, str]] = {MfccChromaRnnConfig: "sequence_nets.mfcc-chroma-rnn"}
    keep_axes = (1,)

    def build(self, input_shape: tuple[int, ...]) -> nn.Module:
        return MfccChromaRnn(input_shape, self.config, len(self.labels))


FAMILIES = families(SequenceModel, MfccChromaRnnModel)
