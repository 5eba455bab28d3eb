"""What training adds to every torch model: fitting a network with the one loop in
``trainer.fit`` (the networks, their load, predict and save are ``trainer.runtime.models.nets``).

``TorchTraining`` is the mixin (used by the CSV networks in ``feature_nets`` and by
``TorchMethod``); ``TorchMethod`` is the base for networks over a feature pipeline's arrays: it
fits the normaliser on the training examples only and early-stops on the validation rows.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from torch import nn

from trainer.fit import EpochLog, FitResult, fit, tensor_dataset
from trainer.methods.base import Arrays, Hooks, Method
from trainer.runtime.models.base import TrainConfig
from trainer.runtime.models.nets import TorchModel


def offset_epochs(on_epoch, offset: int):
    """An ``on_epoch`` callback that numbers epochs after ``offset`` (for methods that fit in stages)."""
    if on_epoch is None:
        return None
    return lambda log: on_epoch(dataclasses.replace(log, epoch=log.epoch + offset))


class TorchTraining:
    """Mixin for hosts of ``TorchModule``: train a network on float inputs with the shared loop."""

    fit_result: FitResult | None = None
    train_config: TrainConfig

    def train_module(self, x: np.ndarray, y: np.ndarray, valid: tuple[np.ndarray, np.ndarray] | None,
                     hooks: Hooks, module: nn.Module | None = None, config: TrainConfig | None = None,
                     on_epoch=None) -> FitResult:
        """Fit ``module`` (default: a new one from ``build``) on float inputs ``x`` and labels ``y``."""
        module = module if module is not None else self.new_module(x.shape[1:])
        result = fit(module, tensor_dataset(x, y), None if valid is None else tensor_dataset(*valid),
                     config or self.train_config, on_epoch=on_epoch or hooks.on_epoch, cancel=hooks.cancel)
        self.fit_result = result
        return result


class TorchMethod(TorchTraining, Method, TorchModel):
    """A torch network over one pipeline's arrays, early-stopped on validation rows."""

    uses_validation = True

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


def best_valid_accuracy(history: list[EpochLog]) -> float:
    scores = [log.valid_accuracy for log in history if log.valid_accuracy is not None]
    return max(scores) if scores else float("nan")
