"""wav2vec2 fine-tuned on genres through ``transformers`` (seeds 000 and 004), on the shared loop.

Input is the ``waveform`` pipeline at 16 kHz: (n, samples) raw windows. Each window is cut into
``segments`` equal segments overlapping by ``overlap`` (seed 000: 18 segments with 50% overlap,
3.16 s each for a 30-s clip); every segment is a training example of its song's genre, and a
window's probabilities are the mean over its segments. The network standardises each segment
(zero mean, unit variance), runs the encoder, pools its last hidden states over frames (mean,
sum, max or the last frame) and classifies with a head.

* ``wav2vec2-finetune`` (seed 000): all but the last ``trainable_layers`` transformer layers
  frozen (the CNN feature encoder always), head linear-dropout-tanh-linear; large, N=2, lr 1e-4.
* ``wav2vec2-biased-ensemble`` (seed 000): a weaker "biased" model (base) is fine-tuned first and
  frozen; the main model (large) then trains on the product of experts
  ``log_softmax(main) + alpha * log_softmax(biased)``, alpha 0.1; the main model alone
  predicts, is early-stopped on and is exported. (The seed names the pieces; combining them as a
  product of experts in log space is this project's reading.)
* ``wav2vec2-probe`` (seed 004): a frozen wav2vec2-base and a 768-128-10 head;
  ``wav2vec2-probe-unfreeze``: head 768-256-128-10 with batch norm, the encoder (all but its CNN
  feature encoder) unfrozen after 5 epochs, when every learning rate drops to 1e-5.

Weights come from ``weights`` (a folder saved by ``save_pretrained`` or a hub id, see
``trainer.runtime.features.embeddings.open_wav2vec2``). A bundle holds the fine-tuned encoder as
``encoder/config.json`` + ``encoder/model.safetensors`` and the head in ``model.safetensors``, and
loads the encoder back with the same ``from_pretrained`` a user's weights go through.
Epochs, batch size, patience, dropout and the optimiser (Adam) are this project's choices where
the seeds give none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from trainer.runtime.features.embeddings import open_wav2vec2, standardise_rows
from trainer.runtime.models.base import TrainConfig, families
from trainer.runtime.models.nets import (
    TorchModel,
    TransferNet,
    mlp,
    predict_logits,
    save_encoder,
    set_trainable,
)

Pooling = Literal["mean", "sum", "max", "last"]


@dataclass(frozen=True)
class Wav2Vec2Settings:
    """What every wav2vec2 method shares. ``size`` is the seed's architecture: it names the weights
    (``--weights wav2vec2-<size>=...``) and shapes a random initialisation; loaded weights bring
    their own. ``trainable_layers``: the last N transformer layers train (0: none; None: the
    whole encoder but its CNN feature encoder)."""

    size: str = "base"
    weights: str | None = None
    allow_random_init: bool = False
    segments: int = 18
    overlap: float = 0.5
    trainable_layers: int | None = 0
    pooling: Pooling = "mean"
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass(frozen=True)
class FinetuneConfig(Wav2Vec2Settings):
    dropout: float = 0.1


@dataclass(frozen=True)
class BiasedEnsembleConfig(FinetuneConfig):
    """The main model is ``size``/``weights``; the biased one ``biased_size``/``biased_weights``,
    fine-tuned with the main model's recipe."""

    alpha: float = 0.1
    biased_size: str = "base"
    biased_weights: str | None = None


@dataclass(frozen=True)
class ProbeConfig(Wav2Vec2Settings):
    hidden: tuple[int, ...] = (128,)
    batch_norm: bool = False
    unfreeze_after: int | None = None
    unfreeze_lr: float = 1e-5


def segment(windows: np.ndarray, segments: int, overlap: float) -> np.ndarray:
    """(n, samples) -> (n, segments, length): equal segments, each overlapping the next by
    ``overlap`` of its length, spanning the window; ``length = samples / (1 + (segments-1)(1-overlap))``."""
    windows = np.atleast_2d(np.asarray(windows, dtype=np.float32))
    step = 1.0 - overlap
    length = int(windows.shape[1] / (1 + (segments - 1) * step))
    hop = int(length * step)
    if length < 1:
        raise ValueError(f"cannot cut {windows.shape[1]} samples into {segments} segments")
    index = np.arange(segments)[:, None] * hop + np.arange(length)[None, :]
    return windows[:, index]


def freeze_wav2vec2(encoder: nn.Module, trainable_layers: int | None) -> list[nn.Parameter]:
    """Freeze all of ``encoder`` but its last ``trainable_layers`` transformer layers (and, in
    pre-norm models, the final layer norm that follows them); ``None`` leaves everything but the
    CNN feature encoder trainable. Returns the parameters that became trainable."""
    before = {id(p) for p in encoder.parameters() if p.requires_grad}
    set_trainable(encoder, False)
    if trainable_layers is None:
        set_trainable(encoder, True)
        set_trainable(encoder.feature_extractor, False)
    elif trainable_layers > 0:
        for layer in encoder.encoder.layers[-trainable_layers:]:
            set_trainable(layer, True)
        if encoder.config.do_stable_layer_norm:
            set_trainable(encoder.encoder.layer_norm, True)
    return [p for p in encoder.parameters() if p.requires_grad and id(p) not in before]


def pool(hidden: torch.Tensor, how: Pooling) -> torch.Tensor:
    """(batch, frames, width) -> (batch, width)."""
    if how == "mean":
        return hidden.mean(dim=1)
    if how == "sum":
        return hidden.sum(dim=1)
    if how == "max":
        return hidden.max(dim=1).values
    return hidden[:, -1]


class Wav2Vec2Classifier(TransferNet):
    """(batch, samples) raw 16-kHz audio -> logits: standardise, encoder, pool frames, head."""

    def __init__(self, encoder: nn.Module, pooling: Pooling, head: nn.Module) -> None:
        super().__init__()
        self.encoder, self.pooling, self.head = encoder, pooling, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(pool(self.encoder(standardise_rows(x)).last_hidden_state, self.pooling))


class Wav2Vec2Segments(TorchModel):
    """Shared by the wav2vec2 models; subclasses give the ``head`` for an encoder width."""

    keep_axes = None
    stacked = True
    encoder_dir = "encoder"

    def __init__(self, config: Wav2Vec2Settings, labels: list[str]) -> None:
        super().__init__(config, labels)
        self.encoder_source = config.weights  # a bundle's own encoder folder once loaded from one

    def head(self, width: int) -> nn.Module:
        raise NotImplementedError

    def inputs(self, x: np.ndarray) -> np.ndarray:
        return segment(x, self.config.segments, self.config.overlap)

    def classifier(self, source: str | None, size: str) -> Wav2Vec2Classifier:
        """Encoder from ``source`` (random ``size`` when None), frozen by the config, and a new head."""
        encoder = open_wav2vec2(source, size)
        freeze_wav2vec2(encoder, self.config.trainable_layers)
        return Wav2Vec2Classifier(encoder, self.config.pooling, self.head(encoder.config.hidden_size))

    def build(self, input_shape: tuple[int, ...]) -> nn.Module:
        return self.classifier(self.encoder_source, self.config.size)

    def module_logits(self, x: np.ndarray, module: nn.Module | None = None) -> np.ndarray:
        """Logits in training-sized batches: many segments at once would exhaust memory."""
        if not len(x):
            return super().module_logits(x, module)
        return predict_logits(module if module is not None else self.model, x,
                              batch_size=self.train_config.batch_size, device=self.train_config.device)

    def save(self, folder: Path) -> list[str]:
        """The encoder as a ``save_pretrained`` folder, the rest (head) in ``model.safetensors``."""
        folder = Path(folder)
        files = save_encoder(self.model.encoder, folder, self.encoder_dir)
        rest = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()
                if not k.startswith("encoder.")}
        save_file(rest, str(folder / self.model_file), metadata={"input_shape": json.dumps(list(self.input_shape))})
        return [self.model_file, *files]

    def load_weights(self, folder: Path) -> None:
        folder = Path(folder)
        self.encoder_source = str(folder / self.encoder_dir)
        with safe_open(str(folder / self.model_file), framework="pt") as handle:
            shape = tuple(json.loads((handle.metadata() or {})["input_shape"]))
            rest = {k: handle.get_tensor(k) for k in handle.keys()}
        missing, unexpected = self.new_module(shape).load_state_dict(rest, strict=False)
        stray = unexpected + [k for k in missing if not k.startswith("encoder.")]
        if stray:
            raise ValueError(f"{self.model_file} does not match this network: {', '.join(stray[:5])}")
        self.model.eval()


class FinetuneModel(Wav2Vec2Segments):
    """Head linear-dropout-tanh-linear (the biased ensemble keeps its main model alone)."""

    config_families: ClassVar[dict[type, str]] = {FinetuneConfig: "wav2vec2.finetune", BiasedEnsembleConfig: "wav2vec2.biased-ensemble"}

    def head(self, width: int) -> nn.Module:
        return nn.Sequential(nn.Linear(width, width), nn.Dropout(self.config.dropout), nn.Tanh(),
                             nn.Linear(width, len(self.labels)))


class ProbeModel(Wav2Vec2Segments):
    """A dense head on the pooled encoder output."""

    config_families: ClassVar[dict[type, str]] = {ProbeConfig: "wav2vec2.probe"}

    def head(self, width: int) -> nn.Module:
        return mlp(width, self.config.hidden, len(self.labels), batch_norm=self.config.batch_norm)


FAMILIES = families(FinetuneModel, ProbeModel)
