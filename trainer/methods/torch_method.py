"""What every torch method shares: build a module from its config, train it with the one loop in
``trainer.fit``, predict softmax probabilities, and keep weights in one safetensors file.

``TorchModule`` is the mixin (used by the CSV networks in ``feature_nets`` and by ``TorchMethod``);
``TorchMethod`` is the base for networks over a feature pipeline's arrays: it turns pipeline output
into float inputs, standardises them with statistics of the training rows only, and optionally
treats axis 1 as a stack of independent segments (seed 002 trains on segments and a window's
probabilities are the mean over its segments).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from trainer.fit import (
    EpochLog,
    FitResult,
    TrainConfig,
    fit,
    predict_logits,
    tensor_dataset,
)
from trainer.methods.base import Arrays, Hooks, Method

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


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def offset_epochs(on_epoch, offset: int):
    """An ``on_epoch`` callback that numbers epochs after ``offset`` (for methods that fit in stages)."""
    if on_epoch is None:
        return None
    return lambda log: on_epoch(dataclasses.replace(log, epoch=log.epoch + offset))


class TorchModule:
    """Mixin: a torch network built by ``build(input_shape)``, trained by ``trainer.fit.fit``.

    The example shape is stored with the weights, so a bundle rebuilds the exact network without
    seeing data. Hosts provide ``config`` (with ``train: TrainConfig`` unless ``train_config`` is
    overridden) and ``labels``.
    """

    model_file = "model.safetensors"
    config: Any
    labels: list[str]
    model: nn.Module
    input_shape: tuple[int, ...]
    fit_result: FitResult | None = None

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

    def train_module(self, x: np.ndarray, y: np.ndarray, valid: tuple[np.ndarray, np.ndarray] | None,
                     hooks: Hooks, module: nn.Module | None = None, config: TrainConfig | None = None,
                     on_epoch=None) -> FitResult:
        """Fit ``module`` (default: a new one from ``build``) on float inputs ``x`` and labels ``y``."""
        module = module if module is not None else self.new_module(x.shape[1:])
        result = fit(module, tensor_dataset(x, y), None if valid is None else tensor_dataset(*valid),
                     config or self.train_config, on_epoch=on_epoch or hooks.on_epoch, cancel=hooks.cancel)
        self.fit_result = result
        return result

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


class TorchMethod(TorchModule, Method):
    """A torch network over one pipeline's arrays, early-stopped on validation rows.

    Subclasses set ``keep_axes`` (normalisation statistics, see ``Normalizer``), ``stacked`` (axis
    1 of the pipeline output is a stack of segments trained on one by one) and may override
    ``inputs`` (pipeline output -> float32 examples) and ``build``.
    """

    uses_validation = True
    keep_axes: tuple[int, ...] | None = ()
    stacked = False

    def __init__(self, spec, config: Any, labels: list[str]) -> None:
        super().__init__(spec, config, labels)
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

    def prepared(self, part: Arrays) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.examples(part.x, part.y)
        return self.normalizer(x), y

    def fit(self, train: Arrays, valid: Arrays | None, hooks: Hooks | None = None) -> None:
        x, y = self.examples(train.x, train.y)
        self.normalizer.fit(x)
        valid_xy = self.prepared(valid) if valid is not None and len(valid) else None
        self.fit_module(self.normalizer(x), y, valid_xy, hooks or Hooks())

    def fit_module(self, x: np.ndarray, y: np.ndarray, valid: tuple[np.ndarray, np.ndarray] | None,
                   hooks: Hooks) -> None:
        """Train on normalised examples; methods made of several networks override this."""
        self.train_module(x, y, valid, hooks)

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
        """Extra arrays a method keeps beside its weights (e.g. which member is best)."""
        return {}

    def load_aux(self, aux: dict[str, np.ndarray]) -> None:
        pass


def best_valid_accuracy(history: list[EpochLog]) -> float:
    scores = [log.valid_accuracy for log in history if log.valid_accuracy is not None]
    return max(scores) if scores else float("nan")
