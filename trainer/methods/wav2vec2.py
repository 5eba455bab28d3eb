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
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from trainer.fit import TrainConfig, fit, predict_logits, tensor_dataset
from trainer.methods import MethodSpec, register
from trainer.methods.base import Hooks
from trainer.methods.image_nets import SEED004_PROTOCOL
from trainer.methods.pretrained import (
    PretrainedMethod,
    TransferNet,
    save_encoder,
    set_trainable,
)
from trainer.methods.torch_method import TorchMethod, mlp, offset_epochs
from trainer.runtime.features.embeddings import (
    WAV2VEC2_RATE,
    open_wav2vec2,
    standardise_rows,
)

SEED000_PROTOCOL = "70/20/10 random split of the clips"
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


class BiasedPair(TransferNet):
    """Training: ``log_softmax(main) + alpha * log_softmax(biased)`` (the biased model frozen);
    evaluation: the main model's logits alone."""

    def __init__(self, main: nn.Module, biased: nn.Module, alpha: float) -> None:
        super().__init__()
        self.main, self.biased, self.alpha = main, biased, alpha
        set_trainable(biased, False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.main(x)
        if not self.training:
            return logits
        with torch.no_grad():
            biased = self.biased(x)
        return F.log_softmax(logits, dim=-1) + self.alpha * F.log_softmax(biased, dim=-1)


class Wav2Vec2Method(PretrainedMethod, TorchMethod):
    """Shared by the wav2vec2 methods; subclasses give the ``head`` for an encoder width."""

    keep_axes = None
    stacked = True
    encoder_dir = "encoder"

    def __init__(self, spec, config: Wav2Vec2Settings, labels: list[str]) -> None:
        super().__init__(spec, config, labels)
        self.encoder_source = config.weights  # a bundle's own encoder folder once loaded from one

    @classmethod
    def weights_key(cls, config: Wav2Vec2Settings) -> str:
        return f"wav2vec2-{config.size}"

    @classmethod
    def tiny_overrides(cls, config: Wav2Vec2Settings) -> dict[str, Any]:
        return {"size": "tiny"} if config.weights is None else {}

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


class Wav2Vec2Finetune(Wav2Vec2Method):
    def head(self, width: int) -> nn.Module:
        return nn.Sequential(nn.Linear(width, width), nn.Dropout(self.config.dropout), nn.Tanh(),
                             nn.Linear(width, len(self.labels)))


class Wav2Vec2BiasedEnsemble(Wav2Vec2Finetune):
    @classmethod
    def weight_slots(cls, config: BiasedEnsembleConfig) -> dict[str, str]:
        return {"weights": cls.weights_key(config), "biased_weights": f"wav2vec2-{config.biased_size}"}

    @classmethod
    def tiny_overrides(cls, config: BiasedEnsembleConfig) -> dict[str, Any]:
        return {**super().tiny_overrides(config), **({"biased_size": "tiny"} if config.biased_weights is None else {})}

    def fit_module(self, x: np.ndarray, y: np.ndarray, valid: tuple[np.ndarray, np.ndarray] | None,
                   hooks: Hooks) -> None:
        torch.manual_seed(self.train_config.seed)
        biased = self.classifier(self.config.biased_weights, self.config.biased_size)
        first = self.train_module(x, y, valid, hooks, module=biased)
        pair = BiasedPair(self.new_module(x.shape[1:]), biased, self.config.alpha)
        self.train_module(x, y, valid, hooks, module=pair, on_epoch=offset_epochs(hooks.on_epoch, len(first.history)))


class Wav2Vec2Probe(Wav2Vec2Method):
    @classmethod
    def tiny_overrides(cls, config: ProbeConfig) -> dict[str, Any]:
        unfreeze = {"unfreeze_after": 1} if config.unfreeze_after is not None else {}
        return {**super().tiny_overrides(config), **unfreeze}

    def head(self, width: int) -> nn.Module:
        return mlp(width, self.config.hidden, len(self.labels), batch_norm=self.config.batch_norm)

    def unfreeze(self, epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Before epoch ``unfreeze_after + 1``: the encoder (but its CNN feature encoder) joins
        training and every learning rate becomes ``unfreeze_lr``."""
        if self.config.unfreeze_after is None or epoch != self.config.unfreeze_after + 1:
            return
        for group in optimizer.param_groups:
            group["lr"] = self.config.unfreeze_lr
        unfrozen = freeze_wav2vec2(model.encoder, None)
        if unfrozen:
            optimizer.add_param_group({"params": unfrozen, "lr": self.config.unfreeze_lr})

    def fit_module(self, x: np.ndarray, y: np.ndarray, valid: tuple[np.ndarray, np.ndarray] | None,
                   hooks: Hooks) -> None:
        module = self.new_module(x.shape[1:])
        self.fit_result = fit(module, tensor_dataset(x, y), None if valid is None else tensor_dataset(*valid),
                              self.train_config, on_epoch=hooks.on_epoch, before_epoch=self.unfreeze,
                              cancel=hooks.cancel)


_WAVEFORM = {"sample_rate": WAV2VEC2_RATE}


def _register(name: str, family: type[Wav2Vec2Method], config: Wav2Vec2Settings, seed: str, summary: str,
              published: str, accuracy: float, protocol: str) -> None:
    register(MethodSpec(name=name, family=family, config=config, seed=seed, summary=summary, pipeline="waveform",
                        pipeline_params=dict(_WAVEFORM), published=published, published_accuracy=accuracy,
                        seed_protocol=protocol))


def _seed000_train() -> TrainConfig:
    return TrainConfig(epochs=10, batch_size=8, lr=1e-4, patience=3)


_register("wav2vec2-finetune", Wav2Vec2Finetune,
          FinetuneConfig(size="large", trainable_layers=2, train=_seed000_train()), "000",
          "wav2vec2-large, 18 segments with 50% overlap at 16 kHz, last 2 encoder layers trained, mean pooling, "
          "head linear-dropout-tanh-linear, lr 1e-4", "72.5 (large, N=2)", 72.5, SEED000_PROTOCOL)
_register("wav2vec2-biased-ensemble", Wav2Vec2BiasedEnsemble,
          BiasedEnsembleConfig(size="large", trainable_layers=2, train=_seed000_train()), "000",
          "fine-tuned wav2vec2-large trained against a frozen fine-tuned wav2vec2-base (product of experts, "
          "alpha 0.1); the large model alone predicts", "74.8", 74.8, SEED000_PROTOCOL)
_register("wav2vec2-probe", Wav2Vec2Probe,
          ProbeConfig(size="base", segments=1, train=TrainConfig(epochs=30, batch_size=16, lr=1e-3, patience=5)),
          "004", "frozen wav2vec2-base on the whole window, mean pooling, head 768-128-10", "61", 61.0,
          SEED004_PROTOCOL)
_register("wav2vec2-probe-unfreeze", Wav2Vec2Probe,
          ProbeConfig(size="base", segments=1, hidden=(256, 128), batch_norm=True, unfreeze_after=5,
                      train=TrainConfig(epochs=20, batch_size=16, lr=1e-3, patience=5)),
          "004", "wav2vec2-base, head 768-256-128-10 with batch norm; the encoder unfrozen after 5 epochs at lr 1e-5",
          "68", 68.0, SEED004_PROTOCOL)
