"""ImageNet transfer (seeds 001 and 004): freezing plans, safe weight files, one whole path."""

import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from tests.trainer.pretrained.conftest import classify, export, files_in
from trainer.methods import create, get
from trainer.run import run_method
from trainer.runtime.errors import MethodUnavailable
from trainer.runtime.models.imagenet import imagenet_net
from trainer.runtime.models.nets import trainable_names

LABELS = ["ambient", "march", "reggae", "swing", "techno", "waltz"]
# The FC layers of AlexNet's and VGG16's classifiers, first to last (the last one is new).
CLASSIFIER_FC = {"alexnet": ("net.classifier.1.", "net.classifier.4.", "net.classifier.6.0."),
                 "vgg16": ("net.classifier.0.", "net.classifier.3.", "net.classifier.6.0.")}


def planned(name: str, input_shape=(3, 128, 128)) -> torch.nn.Module:
    """The network a method would train, built on the meta device (no memory, no time)."""
    method = create(name, LABELS, allow_random_init=True)
    with torch.device("meta"):
        return method.build(input_shape)


def under(model: torch.nn.Module, prefixes: tuple[str, ...]) -> set[str]:
    return {n for n, _ in model.named_parameters() if n.startswith(prefixes)}


@pytest.mark.parametrize("arch", ["alexnet", "vgg16"])
def test_the_four_fine_tuning_variants_train_what_the_appendix_says(arch):
    whole = planned(arch)
    assert set(trainable_names(whole)) == {n for n, _ in whole.named_parameters()}
    for k in (1, 2, 3):
        model = planned(f"{arch}-train-last{k}")
        assert set(trainable_names(model)) == under(model, CLASSIFIER_FC[arch][-k:])


def test_resnet18_variants():
    assert set(trainable_names(planned("resnet18-train-last1"))) == {"net.fc.0.weight", "net.fc.0.bias"}
    whole = planned("resnet18")
    assert len(trainable_names(whole)) == len(list(whole.parameters()))


def test_inception_transfer_trains_its_new_top_only_and_keeps_frozen_batch_norm_in_inference_mode():
    model = planned("inception-transfer", (3, 288, 432))
    assert set(trainable_names(model)) == {"net.fc.0.weight", "net.fc.0.bias", "net.fc.2.weight", "net.fc.2.bias"}
    assert model.net.fc[0].out_features == 1024 and model.net.AuxLogits is None
    model.train()
    assert not model.net.Mixed_7c.branch1x1.bn.training and model.net.fc.training
    assert get("inception-transfer").config.train.optimizer == "sgd" and get("inception-transfer").config.train.lr == 1e-4


def test_without_weights_the_method_refuses(tmp_path):
    with pytest.raises(MethodUnavailable, match="--weights vgg16="):
        create("vgg16", LABELS)


@pytest.fixture(scope="module")
def resnet18_weights(tmp_path_factory):
    """A torchvision ResNet18 state dict (random values), as .safetensors and as .pth."""
    import torchvision

    folder = tmp_path_factory.mktemp("imagenet")
    torch.manual_seed(3)
    state = torchvision.models.resnet18(weights=None).state_dict()
    save_file(state, str(folder / "resnet18.safetensors"))
    torch.save(state, folder / "resnet18.pth")
    return folder, state


@pytest.mark.parametrize("file", ["resnet18.safetensors", "resnet18.pth"])
def test_weights_load_from_a_local_file(resnet18_weights, file):
    folder, state = resnet18_weights
    net = imagenet_net("resnet18", 6, weights=str(folder / file))
    assert torch.equal(net.conv1.weight, state["conv1.weight"]) and net.fc[0].out_features == 6


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pth_file_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "ran"
    with open(tmp_path / "evil.pth", "wb") as handle:
        pickle.dump({"conv1.weight": Payload(marker)}, handle, protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        imagenet_net("resnet18", 6, weights=str(tmp_path / "evil.pth"))
    assert not marker.exists()


def test_resnet18_fine_tunes_and_its_bundle_tags_a_file(tmp_path, source, split, clips, resnet18_weights):
    folder, state = resnet18_weights
    result = run_method("resnet18", source, split, seed=0,
                        overrides={"weights": str(folder / "resnet18.safetensors"), "train.epochs": 1,
                                   "train.batch_size": 16})
    assert result.method.pretrained is True and len(result.history) == 1
    assert not torch.equal(result.method.model.net.conv1.weight.cpu(), state["conv1.weight"])
    bundle = export(result, tmp_path / "bundle")
    assert files_in(bundle) == {"bundle.json", "model.safetensors"}
    assert json.loads((bundle / "bundle.json").read_text())["pretrained"] is True
    song = clips / "march" / "march.00003.wav"
    _, probs = classify(bundle, song)
    windows = source.arrays([song.stem], result.pipeline, source.labels).x
    np.testing.assert_allclose(probs, result.method.predict_proba(windows).mean(axis=0), atol=1e-5)
