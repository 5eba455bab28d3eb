"""Seed 004's neural networks on the GTZAN CSV features, trained by the shared loop.

``feature-nn``: dense 512-256-128-64-16-10 on the 58 columns, each hidden layer followed by batch
norm, ReLU and dropout (207,802 parameters counted as Keras does, batch-norm statistics included).
``feature-lstm``: the 58 scaled features read as a sequence of 58 steps of one value, LSTM 256,
then dense 128-64-10 (305,994 parameters with one bias per gate, as Keras counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from trainer.runtime.models.base import TableModel, TrainConfig, families
from trainer.runtime.models.nets import TorchModule, mlp


@dataclass(frozen=True)
class DenseConfig:
    hidden: tuple[int, ...] = (512, 256, 128, 64, 16)
    dropout: float = 0.2
    drop_columns: tuple[str, ...] = ()
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=200, batch_size=32, lr=1e-3, patience=20))


@dataclass(frozen=True)
class LstmConfig:
    hidden: int = 256
    head: tuple[int, ...] = (128, 64)
    drop_columns: tuple[str, ...] = ()
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=100, batch_size=32, lr=1e-3, patience=15))


class DenseNet(nn.Module):
    def __init__(self, n_in: int, hidden: tuple[int, ...], n_out: int, dropout: float) -> None:
        super().__init__()
        self.net = mlp(n_in, hidden, n_out, nn.ReLU, batch_norm=True, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class FeatureLstm(nn.Module):
    def __init__(self, hidden: int, head: tuple[int, ...], n_out: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, batch_first=True)
        self.head = mlp(hidden, head, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x.unsqueeze(-1))
        return self.head(h[-1])


class FeatureNetModel(TorchModule, TableModel):
    """A torch network over scaled CSV features; weights in safetensors."""

    config_families: ClassVar[dict[type, str]] = {DenseConfig: "feature_nets.dense", LstmConfig: "feature_nets.lstm"}

    def build(self, input_shape: tuple[int, ...] | None = None) -> nn.Module:
        """The network for ``input_shape`` (default: the kept CSV columns)."""
        c = self.config
        if isinstance(c, LstmConfig):
            return FeatureLstm(c.hidden, c.head, len(self.labels))
        n_in = input_shape[0] if input_shape else len(self.keep)
        return DenseNet(n_in, c.hidden, len(self.labels), c.dropout)

    def proba_scaled(self, x: np.ndarray) -> np.ndarray:
        return self.module_proba(x)

    def save_model(self, folder: Path) -> list[str]:
        return self.save_module(folder)

    def load_model(self, folder: Path) -> None:
        self.load_module(folder)


FAMILIES = families(FeatureNetModel)
