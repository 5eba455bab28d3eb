"""ImageNet networks from ``torchvision`` transferred to spectrogram images (seeds 001 and 004).

* ``inception-transfer`` (seed 001): InceptionV3 frozen, a new top (global average pooling, dense
  1024 ReLU, softmax: the Keras recipe for a new top on InceptionV3) trained by SGD at 1e-4 on the
  whole Kaggle spectrogram figures; batch 32, early stopping.
* ``alexnet``, ``vgg16``, ``resnet18`` (seed 004): fine-tuned whole on 128x128 mel images, with
  ``-aug`` variants on seed 004's 6x augmented set; and the appendix's freezing variants
  ``<arch>-train-last<k>``: only the last k fully connected layers train (k = 1, 2, 3 for AlexNet and
  VGG16, whose classifiers have three; 1 for ResNet18, which has one).

The network's own last FC layer is replaced by ``top`` hidden layers and an output layer for the
genres. Images are scaled to [0, 1] and normalised with ImageNet's channel statistics, as the
pretrained weights expect. Weights are a torchvision state dict the user has: a ``.safetensors``
file, or a ``.pth``/``.pt`` file read with ``torch.load(weights_only=True)``, which loads tensors
and refuses any other object, so a weights file cannot run code. Optimiser, epochs and patience
for seed 004 are this project's choices (Adam 1e-4, 30 epochs, patience 10); seed 001's SGD
momentum (0.9) is the Keras recipe's, not given by the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from trainer.runtime.models.base import TrainConfig, families
from trainer.runtime.models.image_nets import ImageModel
from trainer.runtime.models.nets import TransferNet, mlp, set_trainable

IMAGENET_MEAN = np.asarray([0.485, 0.456, 0.406], dtype=np.float32)[:, None, None]
IMAGENET_STD = np.asarray([0.229, 0.224, 0.225], dtype=np.float32)[:, None, None]
ARCHITECTURES = ("inception_v3", "alexnet", "vgg16", "resnet18")


@dataclass(frozen=True)
class ImagenetConfig:
    """``train_last_fc``: None trains everything; k trains only the last k FC layers (the new
    top and output layers count). ``augment`` asks the data source for seed 004's augmented set."""

    arch: str = "resnet18"
    weights: str | None = None
    allow_random_init: bool = False
    train_last_fc: int | None = None
    top: tuple[int, ...] = ()
    augment: bool = False
    train: TrainConfig = field(default_factory=TrainConfig)


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` file, or of a ``.pth``/``.pt`` file through the safe
    unpickler (``weights_only=True``: tensors and plain containers only)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a state dict of tensors")
    return state


def imagenet_net(arch: str, n_out: int, top: tuple[int, ...] = (), weights: str | None = None,
                 initialise: bool = True) -> nn.Module:
    """torchvision's ``arch`` with ``weights`` loaded (a state dict file), its last FC layer
    replaced by ``top`` hidden layers and ``n_out`` outputs. ``initialise=False`` skips the random
    initialisation where weights will overwrite it anyway (InceptionV3's is slow)."""
    import torchvision.models as tvm

    if arch not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    extra = {"aux_logits": True, "transform_input": True, "init_weights": initialise} if arch == "inception_v3" else {}
    net = getattr(tvm, arch)(weights=None, **extra)
    if weights is not None:
        try:
            net.load_state_dict(load_state_dict_file(weights))
        except RuntimeError as exc:
            raise ValueError(f"{weights} does not hold torchvision's {arch} weights: {exc}") from None
    if arch == "inception_v3":  # the auxiliary classifier only served ImageNet training
        net.aux_logits, net.AuxLogits = False, None
    if hasattr(net, "fc"):
        net.fc = mlp(net.fc.in_features, top, n_out)
    else:
        net.classifier[-1] = mlp(net.classifier[-1].in_features, top, n_out)
    return net


def fc_layers(net: nn.Module) -> list[nn.Linear]:
    """The network's fully connected layers in forward order."""
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


def freeze_imagenet(net: nn.Module, train_last_fc: int | None) -> None:
    """Everything trainable (None), or only the last ``train_last_fc`` FC layers."""
    set_trainable(net, train_last_fc is None)
    if train_last_fc is not None:
        layers = fc_layers(net)
        if not 1 <= train_last_fc <= len(layers):
            raise ValueError(f"this network has {len(layers)} FC layers; cannot train the last {train_last_fc}")
        for layer in layers[-train_last_fc:]:
            set_trainable(layer, True)


class ImagenetNet(TransferNet):
    """(batch, 3, height, width) ImageNet-normalised images -> logits."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ImagenetModel(ImageModel):
    """An ImageNet network whose last FC layer gave way to ``top`` and the genres; built from the
    ImageNet weights the config names, or, loaded from a bundle, from the bundle's own."""

    config_families: ClassVar[dict[type, str]] = {ImagenetConfig: "imagenet.net"}
    keep_axes = None
    from_bundle = False

    def inputs(self, x: np.ndarray) -> np.ndarray:
        return (super().inputs(x) - IMAGENET_MEAN) / IMAGENET_STD

    def build(self, input_shape: tuple[int, ...]) -> nn.Module:
        c = self.config
        weights = None if self.from_bundle else c.weights
        net = imagenet_net(c.arch, len(self.labels), c.top, weights, initialise=weights is None and not self.from_bundle)
        freeze_imagenet(net, c.train_last_fc)
        return ImagenetNet(net)

    def load_weights(self, folder: Path) -> None:
        self.from_bundle = True  # the bundle holds every weight; the ImageNet file is not needed
        super().load_weights(folder)


FAMILIES = families(ImagenetModel)
