"""The method registry: every seed method is a named entry with a config of the seed's defaults.

A method is a ``Method`` subclass plus a ``MethodSpec`` that names it, says which seed report
it reproduces, which feature pipeline feeds it, and what the seed published. Families live in
one module each and register themselves when imported.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from trainer.methods.base import Method
from trainer.runtime.errors import UserError
from trainer.runtime.models.base import replace_config

_SPECS: dict[str, MethodSpec] = {}
_FAMILIES = (
    "trainer.methods.tabular",
    "trainer.methods.feature_nets",
    "trainer.methods.image_nets",
    "trainer.methods.sequence_nets",
    "trainer.methods.spectral_nets",
    "trainer.methods.pretrained",
    "trainer.methods.wav2vec2",
    "trainer.methods.imagenet",
    "trainer.methods.embedding_heads",
    "trainer.methods.musicnn",
)


class UnknownMethod(UserError, KeyError):
    """A method name that is not registered."""


@dataclass(frozen=True)
class MethodSpec:
    """What a registered method is: its family class, default config and provenance."""

    name: str
    family: type[Method]
    config: Any
    seed: str
    summary: str
    pipeline: str
    pipeline_params: dict[str, Any] = field(default_factory=dict)
    published: str = ""
    published_accuracy: float | None = None
    seed_protocol: str = ""

    def make_config(self, **overrides: Any) -> Any:
        """The seed's defaults with ``overrides`` applied (nested ``train`` fields allowed)."""
        return replace_config(self.config, overrides)


def register(spec: MethodSpec) -> MethodSpec:
    if spec.name in _SPECS:
        raise ValueError(f"method {spec.name!r} registered twice")
    _SPECS[spec.name] = spec
    return spec


def _load_all() -> None:
    for module in _FAMILIES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def specs() -> dict[str, MethodSpec]:
    _load_all()
    return dict(_SPECS)


def get(name: str) -> MethodSpec:
    _load_all()
    try:
        return _SPECS[name]
    except KeyError:
        raise UnknownMethod(f"unknown method {name!r}; known: {', '.join(sorted(_SPECS))}") from None


def create(name: str, labels: list[str], **overrides: Any) -> Method:
    """A fresh, untrained method with the seed's defaults and ``overrides``."""
    spec = get(name)
    return spec.family(spec, spec.make_config(**overrides), list(labels))
