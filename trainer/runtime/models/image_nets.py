"""Networks on spectrogram images (seeds 000, 001 and 004), trained by the shared loop.

Inputs are the ``spectrogram-image`` / ``mel-image-128`` pipelines' uint8 RGB images
(n, height, width, 3); every method here scales them to [0, 1], puts channels first
(n, 3, height, width) and standardises them with statistics of the training images.

* ``softmax-image`` (seed 000): per-pixel normalisation, a 3 -> 1 linear colour mix with tanh,
  the 336 columns cut into 112 groups of 3, one linear map shared by the groups, group logits
  averaged. (The seed names the pieces, not how the groups are combined; sharing the map over
  time keeps the model a softmax regression of 6,554 parameters for 10 genres.)
* ``cnn-image`` (seed 000): a configurable CNN whose every knob is in the seed's grid
  (``trainer.methods.image_nets.CNN_IMAGE_GRID``, run by ``genre-trainer grid``);
  ``cnn-image-vote``: six of them, each row decided by a majority of 3+ votes, else by the member
  best on validation.
* ``custom-cnn`` (seed 001): the same CNN family on the whole Kaggle figure, SGD at 1e-3.
* ``cnn-mel128`` / ``crnn-mel128`` (seed 004): a CNN and a CNN+LSTM on 128x128 mel images,
  with ``-aug`` variants trained on seed 004's 6x augmented set.

Where the seeds give no value (widths, dense size, epochs, patience, momentum) the defaults are
choices stated in the config comments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from trainer.runtime.models.base import TrainConfig, families, softmax
from trainer.runtime.models.nets import TorchModel, conv_stack, mlp, output_shape


@dataclass(frozen=True)
class SoftmaxImageConfig:
    groups: int = 112
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=500, batch_size=32, lr=1e-3, patience=None))


@dataclass(frozen=True)
class ImageCnnConfig:
    """A CNN of ``layers`` blocks (conv ``kernel``/``stride``/``padding``, batch norm, ReLU, 2x2
    max-pool), widths ``channels`` doubling per block, global average pooling, a dense layer of
    ``hidden`` with dropout; ``lstm > 0`` reads the last maps column by column with an LSTM of
    that size instead (a CRNN). ``augment`` asks the data source for seed 004's augmented set.
    ``pool`` > 1 averages the image over ``pool`` x ``pool`` pixels before the first block (1: none,
    as the seeds); a budget uses it to shrink Kaggle figures, whose 216 x 335 plot area upsamples
    the 128 x ~130 mel levels of a 3-s window."""

    layers: int = 3
    channels: int = 16
    kernel: int = 3
    padding: int = 1
    stride: int = 1
    dropout: float = 0.5
    hidden: int = 128
    lstm: int = 0
    augment: bool = False
    pool: int = 1
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=100, batch_size=32, lr=1e-3, patience=10))


@dataclass(frozen=True)
class VoteConfig:
    """``members`` CNNs of config ``cnn`` that differ by seed (``seed + i``); a row's class is the
    one with at least ``min_votes`` votes, else the prediction of the member best on validation."""

    members: int = 6
    min_votes: int = 3
    seed: int = 0
    cnn: ImageCnnConfig = field(default_factory=ImageCnnConfig)


class SoftmaxImage(nn.Module):
    """(batch, 3, height, width) -> logits: tanh(colour mix) per pixel, column groups, shared linear."""

    def __init__(self, height: int, width: int, groups: int, n_out: int) -> None:
        super().__init__()
        if groups < 1 or width < groups:
            raise ValueError(f"cannot cut {width} columns into {groups} groups")
        self.groups, self.group_width = groups, width // groups
        self.colour = nn.Linear(3, 1)
        self.linear = nn.Linear(height * self.group_width, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = torch.tanh(self.colour(x.permute(0, 2, 3, 1))).squeeze(-1)          # (B, H, W)
        b, h, _ = grey.shape
        cols = grey[:, :, : self.groups * self.group_width].reshape(b, h, self.groups, self.group_width)
        groups = cols.permute(0, 2, 1, 3).reshape(b, self.groups, h * self.group_width)
        return self.linear(groups).mean(dim=1)


class ImageCnn(nn.Module):
    """(batch, 3, height, width) -> logits; see ``ImageCnnConfig``."""

    def __init__(self, input_shape: tuple[int, ...], c: ImageCnnConfig, n_out: int) -> None:
        super().__init__()
        widths = tuple(c.channels * 2**i for i in range(c.layers))
        self.shrink = nn.AvgPool2d(c.pool) if c.pool > 1 else nn.Identity()
        self.features = conv_stack(2, input_shape[0], widths, c.kernel, c.stride, c.padding, batch_norm=True)
        channels, height, _ = output_shape(nn.Sequential(self.shrink, self.features), input_shape)
        self.lstm = nn.LSTM(channels * height, c.lstm, batch_first=True) if c.lstm else None
        self.head = mlp(c.lstm or channels, (c.hidden,), n_out, dropout=c.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.features(self.shrink(x))                                         # (B, C, H', W')
        if self.lstm is None:
            return self.head(maps.mean(dim=(2, 3)))
        columns = maps.permute(0, 3, 1, 2).flatten(2)                                # (B, W', C*H')
        _, (h, _) = self.lstm(columns)
        return self.head(h[-1])


class Ensemble(nn.Module):
    """Members side by side: (batch, ...) -> (batch, members, classes) logits."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members], dim=1)


def vote(proba: np.ndarray, best: int, min_votes: int) -> np.ndarray:
    """Combine (rows, members, classes) probabilities: a class with ``min_votes`` or more votes
    (and no tie) wins and the row gets the vote shares; other rows get member ``best``'s output."""
    members, n_classes = proba.shape[1], proba.shape[2]
    counts = np.zeros((len(proba), n_classes))
    np.add.at(counts, (np.arange(len(proba))[:, None], proba.argmax(axis=2)), 1)
    top = counts.max(axis=1)
    decided = (top >= min_votes) & ((counts == top[:, None]).sum(axis=1) == 1)
    return np.where(decided[:, None], counts / members, proba[:, best])


class ImageModel(TorchModel):
    """uint8 (n, H, W, 3) images -> float (n, 3, H, W) in [0, 1], standardised per channel."""

    config_families: ClassVar[dict[type, str]] = {ImageCnnConfig: "image_nets.cnn"}
    keep_axes = (0,)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        scaled = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
        return np.ascontiguousarray(scaled.transpose(0, 3, 1, 2))

    def build(self, input_shape: tuple[int, ...]) -> nn.Module:
        return ImageCnn(input_shape, self.config, len(self.labels))


class SoftmaxImageModel(ImageModel):
    config_families: ClassVar[dict[type, str]] = {SoftmaxImageConfig: "image_nets.softmax"}
    keep_axes = (0, 1, 2)  # per-pixel normalisation, as seed 000

    def build(self, input_shape: tuple[int, ...]) -> nn.Module:
        return SoftmaxImage(input_shape[1], input_shape[2], self.config.groups, len(self.labels))


class VoteModel(ImageModel):
    """``members`` CNNs side by side; see ``vote``. ``best`` is the member best on validation."""

    config_families: ClassVar[dict[type, str]] = {VoteConfig: "image_nets.vote"}
    best = 0

    @property
    def train_config(self) -> TrainConfig:
        return self.config.cnn.train

    def build(self, input_shape: tuple[int, ...]) -> nn.Module:
        return Ensemble([ImageCnn(input_shape, self.config.cnn, len(self.labels)) for _ in range(self.config.members)])

    def example_proba(self, x: np.ndarray) -> np.ndarray:
        return vote(softmax(self.module_logits(x).astype(np.float64)), self.best, self.config.min_votes)

    def aux_state(self) -> dict[str, np.ndarray]:
        return {"best_member": np.asarray([self.best], dtype=np.int64)}

    def load_aux(self, aux: dict[str, np.ndarray]) -> None:
        self.best = int(aux["best_member"][0])


FAMILIES = families(ImageModel, SoftmaxImageModel, VoteModel)
