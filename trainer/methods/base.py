"""What every method implements, and the pieces the feature-table families share."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from safetensors.numpy import load_file, save_file

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


class Method(ABC):
    """A trainable classifier over one feature pipeline's outputs."""

    # Methods that early-stop or choose a model on validation data get a validation set.
    uses_validation: bool = False

    def __init__(self, spec: MethodSpec, config: Any, labels: list[str]) -> None:
        self.spec = spec
        self.config = config
        self.labels = labels

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pretrained(self) -> bool | None:
        """True/False for methods built on pretrained weights; None where the idea does not apply."""
        return None

    def config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    @abstractmethod
    def fit(self, train: Arrays, valid: Arrays | None, hooks: Hooks | None = None) -> None:
        """Train on ``train``; ``valid`` (if any) serves early stopping or model choice only."""

    @abstractmethod
    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(n, len(labels)) class probabilities."""

    @abstractmethod
    def save(self, folder: Path) -> list[str]:
        """Write weights into ``folder`` in a non-executable format; return the file names."""

    @abstractmethod
    def load_weights(self, folder: Path) -> None:
        """Read weights written by ``save`` (never by unpickling)."""


class Standardizer:
    """Per-column standard scaling fitted on the training rows only."""

    def __init__(self, mean: np.ndarray | None = None, scale: np.ndarray | None = None) -> None:
        self.mean = mean
        self.scale = scale

    def fit(self, x: np.ndarray) -> Standardizer:
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.scale = np.where(std > 0, std, 1.0)
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.mean is None or self.scale is None:
            raise RuntimeError("the scaler has not been fitted")
        return ((x - self.mean) / self.scale).astype(np.float32)

    def save(self, path: Path) -> None:
        save_file({"mean": np.asarray(self.mean, np.float64), "scale": np.asarray(self.scale, np.float64)}, str(path))

    @classmethod
    def load(cls, path: Path) -> Standardizer:
        tensors = load_file(str(path))
        return cls(tensors["mean"], tensors["scale"])


def column_indices(all_columns: Sequence[str], drop: Sequence[str]) -> np.ndarray:
    """Indices of ``all_columns`` left after dropping ``drop`` (unknown names are an error)."""
    unknown = set(drop) - set(all_columns)
    if unknown:
        raise KeyError(f"cannot drop unknown columns {sorted(unknown)}")
    return np.asarray([i for i, c in enumerate(all_columns) if c not in set(drop)], dtype=int)


class TableMethod(Method):
    """A method over the GTZAN CSV columns: drops the configured columns, scales on train only.

    Configs of this family carry ``drop_columns``; the seed reproductions keep all 58 columns,
    while the shipped model drops ``length`` (a property of the file, not of the music).
    """

    scaler_file = "scaler.safetensors"

    def __init__(self, spec: MethodSpec, config: Any, labels: list[str]) -> None:
        super().__init__(spec, config, labels)
        from trainer.runtime.features.gtzan_csv import COLUMNS

        self.keep = column_indices(COLUMNS, config.drop_columns)
        self.scaler = Standardizer()

    def _inputs(self, x: np.ndarray) -> np.ndarray:
        return self.scaler(np.asarray(x, dtype=np.float64)[:, self.keep])

    def fit(self, train: Arrays, valid: Arrays | None, hooks: Hooks | None = None) -> None:
        self.scaler.fit(np.asarray(train.x, dtype=np.float64)[:, self.keep])
        self.fit_scaled(self._inputs(train.x), train.y,
                        None if valid is None or not len(valid) else (self._inputs(valid.x), valid.y), hooks or Hooks())

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.proba_scaled(self._inputs(x))

    def save(self, folder: Path) -> list[str]:
        self.scaler.save(folder / self.scaler_file)
        return [self.scaler_file, *self.save_model(folder)]

    def load_weights(self, folder: Path) -> None:
        self.scaler = Standardizer.load(folder / self.scaler_file)
        self.load_model(folder)

    @abstractmethod
    def fit_scaled(self, x: np.ndarray, y: np.ndarray, valid: tuple[np.ndarray, np.ndarray] | None,
                   hooks: Hooks) -> None: ...

    @abstractmethod
    def proba_scaled(self, x: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def save_model(self, folder: Path) -> list[str]: ...

    @abstractmethod
    def load_model(self, folder: Path) -> None: ...
