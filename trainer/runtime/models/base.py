"""What every model family shares at tagging time: the abstract model, its family record, the
optimisation record, the settings merge, and the pieces the GTZAN-CSV families use.

A model is what a bundle holds: a config (the settings ``bundle.json`` records), its labels, and
weights read by ``load_weights`` and written by ``save`` beside it, so each format lives in one
place. Training adds ``fit`` in ``trainer.methods``, whose classes subclass these.

``TrainConfig`` lives here rather than beside the training loop: every neural config embeds one,
so it is part of what a bundle records (how it was trained) and of the settings a bundle is
checked against; the runtime itself reads only its ``device``.

Nothing here imports torch: the tabular families (XGBoost, scikit-learn) load without it.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
from safetensors.numpy import load_file, save_file


@dataclass
class TrainConfig:
    """Optimisation settings; each neural method's config embeds one with its seed's values."""

    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: Literal["none", "cosine"] = "none"
    patience: int | None = 10
    # Wall-clock seconds of training after which the loop stops at its next batch
    # (None: no limit), so a CPU budget bounds a method's time whatever its epoch costs.
    max_seconds: float | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = True


class Model(ABC):
    """A classifier over one feature pipeline's outputs, as a bundle holds it.

    ``config_families`` maps each config type the class accepts to its family key (the name
    ``bundle.json`` records and ``trainer.runtime.models.family`` looks up).
    """

    config_families: ClassVar[dict[type, str]] = {}

    def __init__(self, config: Any, labels: list[str]) -> None:
        self.config = config
        self.labels = list(labels)

    @property
    def family(self) -> str:
        """The family key of this model's config."""
        return self.config_families[type(self.config)]

    @property
    def pretrained(self) -> bool | None:
        """True/False for models built on pretrained weights; None where the idea does not apply."""
        return None

    def config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    @abstractmethod
    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(n, len(labels)) class probabilities."""

    @abstractmethod
    def save(self, folder: Path) -> list[str]:
        """Write weights into ``folder`` in a non-executable format; return the file names."""

    @abstractmethod
    def load_weights(self, folder: Path) -> None:
        """Read weights written by ``save`` (never by unpickling)."""


class Family(NamedTuple):
    """A family key's model class and the factory of its default config."""

    model: type[Model]
    config: Callable[[], Any]


def families(*models: type[Model]) -> dict[str, Family]:
    """The families of ``models``, one per config type each accepts (a module's ``FAMILIES``)."""
    return {key: Family(model, config) for model in models for config, key in model.config_families.items()}


def replace_config(config: Any, overrides: dict[str, Any]) -> Any:
    """``config`` with ``overrides`` applied; ``train.lr`` reaches the nested ``train`` config.
    An unknown name is a KeyError naming it."""
    direct = {k: v for k, v in overrides.items() if "." not in k}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        if "." in key:
            head, rest = key.split(".", 1)
            nested.setdefault(head, {})[rest] = value
    fields = {f.name for f in dataclasses.fields(config)}
    unknown = (set(direct) | set(nested)) - fields
    if unknown:
        raise KeyError(f"{type(config).__name__} has no setting {', '.join(sorted(unknown))}")
    for head, sub in nested.items():
        direct[head] = replace_config(getattr(config, head), sub)
    return dataclasses.replace(config, **direct)


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


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


class TableModel(Model):
    """A model over the GTZAN CSV columns: drops the configured columns, scales with statistics
    of the training rows.

    Configs of this family carry ``drop_columns``; the seed reproductions keep all 58 columns,
    while the shipped model drops ``length`` (a property of the file, not of the music).
    """

    scaler_file = "scaler.safetensors"

    def __init__(self, config: Any, labels: list[str]) -> None:
        super().__init__(config, labels)
        from trainer.runtime.features.gtzan_csv import COLUMNS

        self.keep = column_indices(COLUMNS, config.drop_columns)
        self.scaler = Standardizer()

    def _inputs(self, x: np.ndarray) -> np.ndarray:
        return self.scaler(np.asarray(x, dtype=np.float64)[:, self.keep])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.proba_scaled(self._inputs(x))

    def save(self, folder: Path) -> list[str]:
        self.scaler.save(folder / self.scaler_file)
        return [self.scaler_file, *self.save_model(folder)]

    def load_weights(self, folder: Path) -> None:
        self.scaler = Standardizer.load(folder / self.scaler_file)
        self.load_model(folder)

    @abstractmethod
    def proba_scaled(self, x: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def save_model(self, folder: Path) -> list[str]: ...

    @abstractmethod
    def load_model(self, folder: Path) -> None: ...
