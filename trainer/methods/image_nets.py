"""Networks on spectrogram images (seeds 000, 001 and 004), as trained here by the shared loop:
their registrations with the seeds' settings, seed 000's grid, and the vote's training (configs
and networks: ``trainer.runtime.models.image_nets``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch import nn

from trainer.methods import MethodSpec, register
from trainer.methods.base import Hooks
from trainer.methods.torch_method import TorchMethod, best_valid_accuracy, offset_epochs
from trainer.runtime.models.base import TrainConfig
from trainer.runtime.models.image_nets import (
    ImageCnnConfig,
    ImageModel,
    SoftmaxImageConfig,
    SoftmaxImageModel,
    VoteConfig,
    VoteModel,
)

SEED000_PROTOCOL = "70/20/10 random split of the clips (images of whole clips)"
SEED001_PROTOCOL = "80/9/10 random split, 99 clips a genre"
SEED004_PROTOCOL = "80/20 random split of the clips"


# Seed 000's grid: every knob the seed searched, with two or three values each (192 settings).
CNN_IMAGE_GRID: dict[str, tuple] = {
    "train.batch_size": (16, 32),
    "train.lr": (1e-3, 1e-4),
    "kernel": (3, 5),
    "padding": (1, 2),
    "stride": (1, 2),
    "dropout": (0.25, 0.5),
    "hidden": (64, 256),
    "layers": (2, 3, 4),
}


class ImageMethod(TorchMethod, ImageModel):
    """A CNN on images, trained on the training images' statistics."""


class SoftmaxImageMethod(ImageMethod, SoftmaxImageModel):
    """Seed 000's softmax regression."""


class VoteMethod(ImageMethod, VoteModel):
    """``members`` CNNs trained one after another on the same rows; see ``vote``."""

    def fit_module(self, x: np.ndarray, y: np.ndarray, valid: tuple[np.ndarray, np.ndarray] | None,
                   hooks: Hooks) -> None:
        ensemble = self.new_module(x.shape[1:])
        scores, offset = [], 0
        for i, member in enumerate(ensemble.members):
            config = replace(self.train_config, seed=self.config.seed + i)
            torch.manual_seed(config.seed)
            member.apply(_reset)
            result = self.train_module(x, y, valid, hooks, module=member, config=config,
                                       on_epoch=offset_epochs(hooks.on_epoch, offset))
            offset += len(result.history)
            scores.append(best_valid_accuracy(result.history))
        self.best = int(np.nanargmax(scores)) if not np.all(np.isnan(scores)) else 0


def _reset(module: nn.Module) -> None:
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()


def _image_spec(name: str, family: type[ImageMethod], config, seed: str, summary: str, pipeline: str,
                params: dict, published: str, accuracy: float | None, protocol: str) -> None:
    register(MethodSpec(name=name, family=family, config=config, seed=seed, summary=summary, pipeline=pipeline,
                        pipeline_params=params, published=published, published_accuracy=accuracy,
                        seed_protocol=protocol))


_CROPPED = {"crop": True}
_image_spec("softmax-image", SoftmaxImageMethod, SoftmaxImageConfig(), "000",
            "softmax regression on 218x336 spectrogram images: per-pixel normalisation, tanh colour mix, "
            "112 column groups, Adam 1e-3, 500 epochs", "spectrogram-image", _CROPPED, "24.2", 24.2, SEED000_PROTOCOL)
_image_spec("cnn-image", ImageMethod, ImageCnnConfig(), "000",
            "CNN on cropped spectrogram images (3 blocks 16-32-64, dense 128, dropout .5; "
            "grid: genre-trainer grid), early stopping", "spectrogram-image", _CROPPED, "57.5", 57.5, SEED000_PROTOCOL)
_image_spec("cnn-image-vote", VoteMethod, VoteConfig(), "000",
            "6 CNNs on cropped spectrogram images, majority of 3+ votes, else the best-on-validation CNN",
            "spectrogram-image", _CROPPED, "63.6", 63.6, SEED000_PROTOCOL)
_image_spec("custom-cnn", ImageMethod,
            ImageCnnConfig(layers=4, channels=32, hidden=256,
                           train=TrainConfig(epochs=100, batch_size=32, lr=1e-3, optimizer="sgd", momentum=0.9,
                                             patience=10)),
            "001", "CNN (4 blocks 32-256, dense 256, dropout .5) on whole spectrogram figures, SGD 1e-3 "
            "(momentum .9: not given by the seed)", "spectrogram-image", {}, "73.0", 73.0, SEED001_PROTOCOL)
for _aug in (False, True):
    _suffix, _note = ("-aug", " on the 6x augmented set") if _aug else ("", "")
    _image_spec(f"cnn-mel128{_suffix}", ImageMethod,
                ImageCnnConfig(layers=4, channels=32, hidden=256, augment=_aug,
                               train=TrainConfig(epochs=50, batch_size=32, lr=1e-3, patience=10)),
                "004", f"CNN (4 blocks 32-256, dense 256, dropout .5) on 128x128 mel images{_note}",
                "mel-image-128", {}, "66" if _aug else "55", 66.0 if _aug else 55.0, SEED004_PROTOCOL)
    _image_spec(f"crnn-mel128{_suffix}", ImageMethod,
                ImageCnnConfig(layers=3, channels=32, hidden=64, lstm=128, augment=_aug,
                               train=TrainConfig(epochs=50, batch_size=32, lr=1e-3, patience=10)),
                "004", f"CNN (3 blocks 32-128) + LSTM 128 over time on 128x128 mel images{_note}",
                "mel-image-128", {}, "54.5" if _aug else "45.5", 54.5 if _aug else 45.5, SEED004_PROTOCOL)
