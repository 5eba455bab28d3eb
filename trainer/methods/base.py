"""What training adds to every runtime model: ``fit``, its data (``Arrays``) and its hooks."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from trainer.runtime.models.base import Model, TableModel

if TYPE_CHECKING:
    from trainer.fit import EpochLog
    from trainer.methods import MethodSpec


@dataclass
class Arrays:
    """Model inputs ``x`` (first axis = examples), integer labels ``y``, and each row's song id."""

    x: np.ndarray
    y: np.ndarray
    songs: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask: np.ndarray) -> Arrays:
        return Arrays(self.x[mask], self.y[mask], self.songs[mask])


@dataclass
class Hooks:
    """Progress and cancellation, passed from the CLI or the GUI down to the training loop."""

    on_epoch: Callable[[EpochLog], None] | None = None
    cancel: Callable[[], bool] | None = None


class Method(Model):
    """A trainable model: a runtime model plus ``fit`` and the registered spec it was made from.

    Method classes list ``Method`` (or a subclass of it) before their runtime model, so that
    ``__init__`` takes the spec here and hands the config and labels on to the model.
    """

    # Methods that early-stop or choose a model on validation data get a validation set.
    uses_validation: bool = False

    def __init__(self, spec: MethodSpec, config: Any, labels: list[str]) -> None:
        self.spec = spec
        super().__init__(config, labels)

    @property
    def name(self) -> str:
        return self.spec.name

    @abstractmethod
    def fit(self, train: Arrays, valid: Arrays | None, hooks: Hooks | None = None) -> None:
        """Train on ``train``; ``valid`` (if any) serves early stopping or model choice only."""


class TableMethod(Method, TableModel):
    """A method over the GTZAN CSV columns: the scaler is fitted on the training rows only."""

    def fit(self, train: Arrays, valid: Arrays | None, hooks: Hooks | None = None) -> None:
        self.scaler.fit(np.asarray(train.x, dtype=np.float64)[:, self.keep])
        self.fit_scaled(self._inputs(train.x), train.y,
                        None if valid is None or not len(valid) else (self._inputs(valid.x), valid.y), hooks or Hooks())

    @abstractmethod
    def fit_scaled(self, x: np.ndarray, y: np.ndarray, valid: tuple[np.ndarray, np.ndarray] | None,
                   hooks: Hooks) -> None: ...
