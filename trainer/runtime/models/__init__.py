"""Model families by key: what ``bundle.json`` names, mapped to the class that loads and runs it.

A key is ``<module>.<name>`` (``tabular.xgboost``, ``image_nets.cnn``): the module of this package
that holds the family, imported only when the key is asked for, so loading an XGBoost bundle never
imports torch. Each module lists its families in ``FAMILIES`` (see ``base.families``).
"""

from __future__ import annotations

import importlib

from trainer.runtime.models.base import Family

# The modules a key may name; a manifest cannot make the loader import anything else.
MODULES = ("tabular", "feature_nets", "image_nets", "sequence_nets", "spectral_nets", "wav2vec2", "imagenet",
           "embedding_heads", "musicnn")


class UnknownFamily(KeyError):
    """A family key this version does not have."""


def family(key: str) -> Family:
    """The model class and default config of family ``key``."""
    module, _, _ = str(key).partition(".")
    if module not in MODULES:
        raise UnknownFamily(f"unknown model family {key!r}")
    found = importlib.import_module(f"{__name__}.{module}").FAMILIES.get(key)
    if found is None:
        raise UnknownFamily(f"unknown model family {key!r}")
    return found


def all_families() -> dict[str, Family]:
    """Every family of every module (imports them all: torch, transformers' config classes...)."""
    return {key: found for module in MODULES
            for key, found in importlib.import_module(f"{__name__}.{module}").FAMILIES.items()}
