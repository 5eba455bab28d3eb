"""ImageNet networks transferred to spectrogram images (seeds 001 and 004), as trained here: which
weights they need and their registrations with the seeds' settings (configs, networks, load and
save: ``trainer.runtime.models.imagenet``)."""

from __future__ import annotations

from trainer.methods import MethodSpec, register
from trainer.methods.image_nets import SEED001_PROTOCOL, SEED004_PROTOCOL, ImageMethod
from trainer.methods.pretrained import PretrainedMethod
from trainer.runtime.models.base import TrainConfig
from trainer.runtime.models.imagenet import ImagenetConfig, ImagenetModel


class ImagenetMethod(PretrainedMethod, ImageMethod, ImagenetModel):
    """An ImageNet network fine-tuned (wholly or its last FC layers) on spectrogram images."""

    @classmethod
    def weights_key(cls, config: ImagenetConfig) -> str:
        return config.arch


def _register(name: str, config: ImagenetConfig, seed: str, summary: str, pipeline: str, published: str,
              accuracy: float | None, protocol: str) -> None:
    register(MethodSpec(name=name, family=ImagenetMethod, config=config, seed=seed, summary=summary,
                        pipeline=pipeline, published=published, published_accuracy=accuracy, seed_protocol=protocol))


_register("inception-transfer",
          ImagenetConfig(arch="inception_v3", top=(1024,), train_last_fc=2,
                         train=TrainConfig(epochs=100, batch_size=32, lr=1e-4, optimizer="sgd", momentum=0.9,
                                           patience=10)),
          "001", "ImageNet InceptionV3 frozen, new top (dense 1024, softmax) on whole spectrogram figures, SGD 1e-4",
          "spectrogram-image", "64.0", 64.0, SEED001_PROTOCOL)


def _seed004_train() -> TrainConfig:
    return TrainConfig(epochs=30, batch_size=32, lr=1e-4, patience=10)


_TITLES = {"alexnet": "AlexNet", "vgg16": "VGG16", "resnet18": "ResNet18"}
_SEED004 = {"alexnet": (67.0, 73.5), "vgg16": (76.0, 84.0), "resnet18": (59.0, 67.0)}
for _arch, (_plain, _augmented) in _SEED004.items():
    for _aug, _accuracy in ((False, _plain), (True, _augmented)):
        _register(f"{_arch}{'-aug' if _aug else ''}", ImagenetConfig(arch=_arch, augment=_aug, train=_seed004_train()),
                  "004", f"ImageNet {_TITLES[_arch]} fine-tuned whole on 128x128 mel images"
                  + (" on the 6x augmented set" if _aug else ""), "mel-image-128", f"{_accuracy:g}", _accuracy,
                  SEED004_PROTOCOL)
    for _k in range(1, 4 if _arch != "resnet18" else 2):
        _register(f"{_arch}-train-last{_k}", ImagenetConfig(arch=_arch, train_last_fc=_k, train=_seed004_train()),
                  "004", f"ImageNet {_TITLES[_arch]} on 128x128 mel images, only the last {_k} FC layer(s) trained "
                  "(appendix)", "mel-image-128", "", None, SEED004_PROTOCOL)
