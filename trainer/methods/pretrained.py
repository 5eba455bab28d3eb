"""What the methods built on pretrained weights share (``wav2vec2``, ``imagenet``, ``embedding_heads``).

No weights, no pretence: such a method is created only with its weights (a local path or a hub
id the user names) or with explicit leave to start from random initialisation, and its
``pretrained`` flag, which every run report, bundle and reproduction table carries, says which.
This project never fetches weights on its own; only a hub id the user names can make
``transformers`` download them.

Freezing is by ``requires_grad``; a ``TransferNet`` (``trainer.runtime.models.nets``) also keeps
its fully frozen parts in inference mode while it trains, so frozen batch-norm layers keep their
pretrained statistics (what Keras does with layers marked untrainable, as seeds 001 and 004 used them).
"""

from __future__ import annotations

from typing import Any

from trainer.runtime.errors import MethodUnavailable

WEIGHTS_HELP = ("pass them with `--weights {key}=PATH_OR_HUB_ID` (genre-trainer reproduce) or `--set {field}=...` "
                "(genre-trainer train), or allow random initialisation with `--allow-random-init` "
                "(`--set allow_random_init=true`); reports then mark the method as not pretrained")


class PretrainedMethod:
    """Mixin for ``Method`` subclasses on pretrained weights.

    Configs carry ``weights`` (None when not given) and ``allow_random_init``; ``weight_slots``
    names every config field holding weights and the key users give them under
    (``--weights KEY=PATH``). Creating the method without weights and without leave raises
    ``MethodUnavailable``.
    """

    config: Any
    name: str

    def __init__(self, spec, config: Any, labels: list[str]) -> None:
        super().__init__(spec, config, labels)
        missing = {f: k for f, k in self.weight_slots(config).items() if getattr(config, f) is None}
        if missing and not config.allow_random_init:
            field, key = next(iter(missing.items()))
            raise MethodUnavailable(f"{spec.name} is built on pretrained weights and none were given for "
                                    f"{', '.join(missing.values())}: " + WEIGHTS_HELP.format(key=key, field=field))

    @classmethod
    def weight_slots(cls, config: Any) -> dict[str, str]:
        """Config field -> weights key, e.g. ``{"weights": "wav2vec2-large"}``."""
        return {"weights": cls.weights_key(config)}

    @classmethod
    def weights_key(cls, config: Any) -> str:
        raise NotImplementedError

    @classmethod
    def tiny_overrides(cls, config: Any) -> dict[str, Any]:
        """Settings that shrink a CI-sized run (``reproduce --budget tiny``) beyond fewer epochs,
        e.g. a tiny architecture for a random initialisation."""
        return {}

    @property
    def pretrained(self) -> bool:
        return all(getattr(self.config, f) is not None for f in self.weight_slots(self.config))
