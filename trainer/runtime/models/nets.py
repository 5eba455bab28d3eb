"""What every torch family shares at tagging time: layer builders, batched prediction, weights in
one safetensors file, input normalisation, and the pieces of networks on pretrained weights.

Kept apart from ``base`` because it imports torch, which the tabular families must not need.
``TorchModule`` rebuilds a network from its config and the example shape stored with its weights;
``TorchModel`` is the base for networks over a feature pipeline's arrays: it turns pipeline output
into float inputs, standardises them with statistics kept beside the weights, and optionally treats
axis 1 as a stack of independent segments (a window's probabilities are the mean over them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from trainer.runtime.device import resolve_device
from trainer.runtime.models.base import Model, TrainConfig, softmax

# Keys of non-module tensors (scalers, choices) inside the model file.
AUX_PREFIX = "aux/"


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters, as PyTorch counts them (batch-norm running statistics are buffers)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def mlp(n_in: int, hidden: tuple[int, ...], n_out: int, activation: type[nn.Module] = nn.ReLU,
        batch_norm: bool = False, dropout: float = 0.0) -> nn.Sequential:
    """Dense layers ``n_in -> hidden... -> n_out``; each hidden layer is Linear, then batch norm,
    the activation and dropout where asked. Input (batch, n_in) -> logits (batch, n_out)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers.append(nn.Linear(n_in, width))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(activation())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        n_in = width
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def conv_stack(dims: int, in_channels: int, widths: tuple[int, ...], kernel: int = 3, stride: int = 1,
               padding: int = 1, batch_norm: bool = False, pool: int = 2,
               pool_last: bool = True) -> nn.Sequential:
    """Convolution blocks (conv, batch norm where asked, ReLU, max-pool of ``pool`` with ceil mode)
    over 1-D (batch, channels, time) or 2-D (batch, channels, height, width) inputs."""
    conv, norm, maxpool = ((nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d) if dims == 1
                           else (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d))
    layers: list[nn.Module] = []
    for i, width in enumerate(widths):
        layers.append(conv(in_channels, width, kernel, stride=stride, padding=padding))
        if batch_norm:
            layers.append(norm(width))
        layers.append(nn.ReLU())
        if pool > 1 and (pool_last or i < len(widths) - 1):
            layers.append(maxpool(pool, ceil_mode=True))
        in_channels = width
    return nn.Sequential(*layers)


def output_shape(module: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Shape of ``module``'s output for one example of ``input_shape``; a clear error when a
    configuration shrinks the input to nothing."""
    try:
        with torch.no_grad():
            was_training = module.training
            module.eval()
            out = module(torch.zeros(1, *input_shape))
            module.train(was_training)
    except RuntimeError as exc:
        raise ValueError(f"this configuration cannot take inputs of shape {input_shape}: {exc}") from None
    return tuple(out.shape[1:])


def predict_logits(model: nn.Module, x: np.ndarray | torch.Tensor, batch_size: int = 256,
                   device: str = "auto") -> np.ndarray:
    """Logits for ``x`` in batches, on ``device``, in eval mode."""
    dev = resolve_device(device)
    model.to(dev).eval()
    x = torch.as_tensor(x, dtype=torch.float32)
    outputs = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            outputs.append(model(x[start : start + batch_size].to(dev)).float().cpu())
    return torch.cat(outputs).numpy() if outputs else np.zeros((0, 0), dtype=np.float32)


class TorchModule:
    """Mixin: a torch network built by ``build(input_shape)``, its weights in ``model_file``.

    The example shape is stored with the weights, so a bundle rebuilds the exact network without
    seeing data. Hosts provide ``config`` (with ``train: TrainConfig`` unless ``train_config`` is
    overridden) and ``labels``; the network runs on ``train_config.device``.
    """

    model_file = "model.safetensors"
    config: Any
    labels: list[str]
    model: nn.Module
    input_shape: tuple[int, ...]

    @property
    def train_config(self) -> TrainConfig:
        return self.config.train

    def build(self, input_shape: tuple[int, ...]) -> nn.Module:
        """A fresh network for examples of ``input_shape`` (batch axis excluded) -> logits."""
        raise NotImplementedError

    def new_module(self, input_shape: tuple[int, ...]) -> nn.Module:
        self.input_shape = tuple(int(d) for d in input_shape)
        torch.manual_seed(self.train_config.seed)  # the initial weights depend on the seed alone
        self.model = self.build(self.input_shape)
        return self.model

    def module_logits(self, x: np.ndarray, module: nn.Module | None = None) -> np.ndarray:
        module = module if module is not None else self.model
        logits = predict_logits(module, x, device=self.train_config.device)
        return logits if len(x) else np.zeros((0, len(self.labels)), dtype=np.float32)

    def module_proba(self, x: np.ndarray) -> np.ndarray:
        return softmax(self.module_logits(x).astype(np.float64))

    def save_module(self, folder: Path, aux: dict[str, np.ndarray] | None = None) -> list[str]:
        """Weights, ``aux`` arrays and the input shape in ``model_file``; returns its name."""
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        for key, value in (aux or {}).items():
            tensors[AUX_PREFIX + key] = torch.as_tensor(np.ascontiguousarray(value))
        save_file(tensors, str(Path(folder) / self.model_file),
                  metadata={"input_shape": json.dumps(list(self.input_shape))})
        return [self.model_file]

    def load_module(self, folder: Path) -> dict[str, np.ndarray]:
        """Rebuild the network from the stored input shape, load its weights; return the aux arrays."""
        path = Path(folder) / self.model_file
        with safe_open(str(path), framework="pt") as handle:
            shape = tuple(json.loads((handle.metadata() or {})["input_shape"]))
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        aux = {k[len(AUX_PREFIX):]: v.numpy() for k, v in tensors.items() if k.startswith(AUX_PREFIX)}
        state = {k: v for k, v in tensors.items() if not k.startswith(AUX_PREFIX)}
        self.new_module(shape).load_state_dict(state)
        self.model.eval()
        return aux


class Normalizer:
    """Standardisation fitted on training examples: one mean and scale per index of ``keep_axes``
    (axes of an example, batch excluded); every other axis shares its statistics.

    ``keep_axes=None`` leaves inputs as they are; ``()`` is one global mean and scale; all axes is
    element-wise (seed 000's per-pixel normalisation).
    """

    def __init__(self, keep_axes: tuple[int, ...] | None) -> None:
        self.keep_axes = keep_axes
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> Normalizer:
        if self.keep_axes is None:
            return self
        kept = {a + 1 for a in self.keep_axes}
        axes = tuple(a for a in range(x.ndim) if a not in kept)
        self.mean = x.mean(axis=axes, keepdims=True, dtype=np.float64)[0].astype(np.float32)
        std = x.std(axis=axes, keepdims=True, dtype=np.float64)[0]
        self.scale = np.where(std > 1e-8, std, 1.0).astype(np.float32)
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.keep_axes is None:
            return x
        if self.mean is None or self.scale is None:
            raise RuntimeError("the normaliser has not been fitted")
        return ((x - self.mean) / self.scale).astype(np.float32, copy=False)

    def state(self) -> dict[str, np.ndarray]:
        return {} if self.mean is None else {"norm_mean": self.mean, "norm_scale": self.scale}

    def load(self, aux: dict[str, np.ndarray]) -> None:
        if self.keep_axes is not None:
            self.mean, self.scale = aux["norm_mean"], aux["norm_scale"]


class TorchModel(TorchModule, Model):
    """A torch network over one pipeline's arrays.

    Subclasses set ``keep_axes`` (normalisation statistics, see ``Normalizer``), ``stacked`` (axis
    1 of the pipeline output is a stack of segments judged one by one) and may override
    ``inputs`` (pipeline output -> float32 examples) and ``build``.
    """

    keep_axes: tuple[int, ...] | None = ()
    stacked = False

    def __init__(self, config: Any, labels: list[str]) -> None:
        super().__init__(config, labels)
        self.normalizer = Normalizer(self.keep_axes)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """Pipeline output -> float32 network input of the same first axis."""
        return np.asarray(x, dtype=np.float32)

    def examples(self, x: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Network examples for pipeline rows: segments of stacked rows become rows of their own."""
        x = self.inputs(x)
        if not self.stacked:
            return x, y
        segments = x.shape[1]
        return x.reshape(-1, *x.shape[2:]), None if y is None else np.repeat(y, segments)

    def example_proba(self, x: np.ndarray) -> np.ndarray:
        """(examples, classes) probabilities of normalised examples."""
        return self.module_proba(x)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        rows = len(x)
        examples, _ = self.examples(np.asarray(x))
        proba = self.example_proba(self.normalizer(examples))
        return proba.reshape(rows, -1, proba.shape[-1]).mean(axis=1) if self.stacked else proba

    def save(self, folder: Path) -> list[str]:
        return self.save_module(folder, aux={**self.normalizer.state(), **self.aux_state()})

    def load_weights(self, folder: Path) -> None:
        aux = self.load_module(folder)
        self.normalizer.load(aux)
        self.load_aux(aux)

    def aux_state(self) -> dict[str, np.ndarray]:
        """Extra arrays a model keeps beside its weights (e.g. which member is best)."""
        return {}

    def load_aux(self, aux: dict[str, np.ndarray]) -> None:
        pass


class TransferNet(nn.Module):
    """A network whose fully frozen submodules stay in eval mode when it is put in training mode,
    so frozen batch-norm layers keep their pretrained statistics (what Keras does with layers
    marked untrainable)."""

    def train(self, mode: bool = True) -> TransferNet:
        super().train(mode)
        if mode:
            for module in self.modules():
                params = list(module.parameters())
                if params and not any(p.requires_grad for p in params):
                    module.eval()
        return self


def set_trainable(module: nn.Module, trainable: bool) -> list[nn.Parameter]:
    """Set ``requires_grad`` on all of ``module``'s parameters; return those whose flag changed."""
    changed = [p for p in module.parameters() if p.requires_grad != trainable]
    for p in changed:
        p.requires_grad_(trainable)
    return changed


def trainable_names(module: nn.Module) -> list[str]:
    """Names of the parameters that receive gradients."""
    return [name for name, p in module.named_parameters() if p.requires_grad]


def save_encoder(model, folder: Path, name: str) -> list[str]:
    """A ``transformers`` model into ``folder/name`` as ``config.json`` + safetensors (never a
    pickle); returns the file names relative to ``folder``, as bundles list them."""
    model.save_pretrained(Path(folder) / name)
    return sorted(f"{name}/{p.name}" for p in (Path(folder) / name).iterdir() if p.is_file())
