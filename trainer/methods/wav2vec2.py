"""wav2vec2 fine-tuned on genres (seeds 000 and 004), as trained here by the shared loop: which
weights each method needs, the biased ensemble's and the unfreezing probe's training, and the
registrations with the seeds' settings (configs, networks, load and save:
``trainer.runtime.models.wav2vec2``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainer.fit import fit, tensor_dataset
from trainer.methods import MethodSpec, register
from trainer.methods.base import Hooks
from trainer.methods.image_nets import SEED004_PROTOCOL
from trainer.methods.pretrained import PretrainedMethod
from trainer.methods.torch_method import TorchMethod, offset_epochs
from trainer.runtime.features.embeddings import WAV2VEC2_RATE
from trainer.runtime.models.base import TrainConfig
from trainer.runtime.models.nets import TransferNet, set_trainable
from trainer.runtime.models.wav2vec2 import (
    BiasedEnsembleConfig,
    FinetuneConfig,
    FinetuneModel,
    ProbeConfig,
    ProbeModel,
    Wav2Vec2Settings,
    freeze_wav2vec2,
)

SEED000_PROTOCOL = "70/20/10 random split of the clips"


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
    """Which weights the wav2vec2 methods need, and how a CI-sized run shrinks them."""

    @classmethod
    def weights_key(cls, config: Wav2Vec2Settings) -> str:
        return f"wav2vec2-{config.size}"

    @classmethod
    def tiny_overrides(cls, config: Wav2Vec2Settings) -> dict[str, Any]:
        return {"size": "tiny"} if config.weights is None else {}


class Wav2Vec2Finetune(Wav2Vec2Method, FinetuneModel):
    """Seed 000's fine-tuning."""


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


class Wav2Vec2Probe(Wav2Vec2Method, ProbeModel):
    @classmethod
    def tiny_overrides(cls, config: ProbeConfig) -> dict[str, Any]:
        unfreeze = {"unfreeze_after": 1} if config.unfreeze_after is not None else {}
        return {**super().tiny_overrides(config), **unfreeze}

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
