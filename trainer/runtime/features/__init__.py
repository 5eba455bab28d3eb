"""Feature pipelines: named, parameterised maps from a batch of waveforms to model inputs.

The trainer and the tagger build the same pipeline from the name and parameters stored in a model
bundle, so features at tagging time can never drift from features at training time.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

_REGISTRY: dict[str, type[FeaturePipeline]] = {}
# Modules that register pipelines; imported on lookup, in this order and only as far as needed, so
# `import trainer.runtime.features` stays light.
_MODULES = ("trainer.runtime.features.gtzan_csv", "trainer.runtime.features.spectral", "trainer.runtime.features.musicnn")


class FeaturePipeline(ABC):
    """Turns ``windows`` (n, samples) float32 mono at ``sample_rate`` into an (n, ...) array.

    Subclasses declare ``name`` and take their parameters as keyword arguments; ``params`` must
    return exactly those keywords so ``make(name, **params)`` rebuilds an identical pipeline.
    """

    name: ClassVar[str]
    sample_rate: int

    @property
    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this pipeline (stored in bundle.json)."""

    @abstractmethod
    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """Features for a batch of windows; the first axis matches ``windows``."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.params}

    def fastest(self, device: str = "cpu") -> FeaturePipeline:
        """An equivalent pipeline (the same columns, within the tolerances its tests hold it to)
        that runs faster on ``device``; the tagger uses it unless told to keep the trained engine."""
        return self


def register(cls: type[FeaturePipeline]) -> type[FeaturePipeline]:
    """Class decorator: make a pipeline available by its ``name``."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"feature pipeline {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _load(modules: tuple[str, ...] = _MODULES, until: str | None = None) -> None:
    """Import the registering ``modules`` in order, stopping once ``until`` is registered (so
    finding the GTZAN pipeline does not import torch for MusiCNN's)."""
    for module in modules:
        if until is not None and until in _REGISTRY:
            return
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def available() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def pipeline_class(name: str) -> type[FeaturePipeline]:
    """The class registered as ``name``."""
    _load(until=name)
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown feature pipeline {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def make(name: str, **params: Any) -> FeaturePipeline:
    """Build the pipeline registered as ``name`` with ``params``."""
    return pipeline_class(name)(**params)
