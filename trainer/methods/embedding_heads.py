"""Seed 003's rows on pretrained embeddings: its forest, recurrent and transformer models reading
wav2vec2 or EnCodecMAE frames instead of a spectrogram.

The input is the ``waveform`` pipeline at the encoder's rate (16 kHz for wav2vec2, 24 kHz for
EnCodecMAE); the method embeds the first 15 s of each window (``trainer.features.embeddings``:
(n, 768, frames) for the base models, the seed's input) and hands the frames to the seed-003
method it wraps, unchanged: ``rf-mean`` (time-mean, random forest of 100), ``bigru-attn``
(bidirectional GRU, H=32, softmax attention) or ``transformer`` (4 layers, dim_feedforward 16;
frames averaged to 40-ms steps as for the spectral inputs).

The encoder lives in the method rather than in a feature pipeline so that the user's weights reach
it as a setting (``weights``), a bundle carries its own copy (wav2vec2: ``encoder/`` in
``save_pretrained`` form; EnCodecMAE: the package and its named checkpoint are needed where the
bundle is used) and the tagger runs it once, in the main process, on the GPU when there is one.
With ``cache_dir`` the embeddings of every window are cached on disk by window content and the
encoder's fingerprint, so the three heads and every seed of a reproduction embed each window
once; a method loaded from a bundle never caches.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from trainer.features.cache import FeatureCache
from trainer.features.embeddings import (ENCODECMAE_RATE, WAV2VEC2_RATE, EncodecMaeFrames, FrameEmbedder,
                                         Wav2Vec2Frames, import_encodecmae, open_wav2vec2)
from trainer.methods import MethodSpec, register
from trainer.methods.base import Arrays, Hooks, Method
from trainer.methods.pretrained import MethodUnavailable, PretrainedMethod, save_encoder
from trainer.methods.sequence_nets import SEED003_PROTOCOL, RnnAttentionConfig, SequenceMethod, TransformerConfig
from trainer.methods.spectral_nets import ForestMeanConfig, ForestMeanMethod

# Which seed-003 family reads the frames, by the type of its config.
HEAD_FAMILIES: dict[type, type[Method]] = {
    ForestMeanConfig: ForestMeanMethod,
    RnnAttentionConfig: SequenceMethod,
    TransformerConfig: SequenceMethod,
}


@dataclass(frozen=True)
class EmbeddingConfig:
    """``weights``: for wav2vec2 a folder or hub id (``size`` shapes a random initialisation);
    for EnCodecMAE the package's checkpoint name. ``layer``: which hidden states of wav2vec2
    (-1 the last). ``head``: the wrapped method's own config; ``seed`` and ``device`` reach it."""

    encoder: Literal["wav2vec2", "encodecmae"] = "wav2vec2"
    size: str = "base"
    weights: str | None = None
    allow_random_init: bool = False
    layer: int = -1
    seconds: float = 15.0
    cache_dir: str | None = None
    device: str = "auto"
    seed: int = 0
    head: Any = field(default_factory=ForestMeanConfig)


def _seeded(head: Any, seed: int, device: str) -> Any:
    if hasattr(head, "train"):
        return dataclasses.replace(head, train=dataclasses.replace(head.train, seed=seed, device=device))
    return dataclasses.replace(head, seed=seed)


class EmbeddingMethod(PretrainedMethod, Method):
    """Embeds windows with a pretrained encoder, then trains and predicts with the wrapped method."""

    encoder_dir = "encoder"
    head_dir = "head"

    def __init__(self, spec, config: EmbeddingConfig, labels: list[str]) -> None:
        super().__init__(spec, config, labels)
        if config.encoder == "encodecmae":
            if config.weights is None:
                raise MethodUnavailable("EnCodecMAE has no random initialisation here: name one of the package's "
                                        "checkpoints (e.g. --weights encodecmae=base)")
            try:
                import_encodecmae()
            except ImportError as exc:
                raise MethodUnavailable(str(exc)) from None
        self.head = HEAD_FAMILIES[type(config.head)](spec, _seeded(config.head, config.seed, config.device), labels)
        self.encoder_source = config.weights
        self.cache = FeatureCache(config.cache_dir) if config.cache_dir else None
        self._embedder: FrameEmbedder | None = None

    @classmethod
    def weights_key(cls, config: EmbeddingConfig) -> str:
        return "encodecmae" if config.encoder == "encodecmae" else f"wav2vec2-{config.size}"

    @classmethod
    def tiny_overrides(cls, config: EmbeddingConfig) -> dict[str, Any]:
        return {"size": "tiny"} if config.encoder == "wav2vec2" and config.weights is None else {}

    @property
    def uses_validation(self) -> bool:
        return self.head.uses_validation

    @property
    def embedder(self) -> FrameEmbedder:
        """The encoder, opened on first use."""
        if self._embedder is None:
            c = self.config
            if c.encoder == "encodecmae":
                self._embedder = EncodecMaeFrames(c.weights, c.seconds, c.device)
            else:
                torch.manual_seed(c.seed)  # a random initialisation depends on the seed alone
                source = self.encoder_source or f"random-{c.size}-seed{c.seed}"
                self._embedder = Wav2Vec2Frames(open_wav2vec2(self.encoder_source, c.size), source, c.layer,
                                                c.seconds, c.device)
        return self._embedder

    def embed(self, part: Arrays | None, hooks: Hooks | None = None) -> Arrays | None:
        """``part`` with its windows replaced by their (n, dim, frames) embeddings."""
        if part is None or not len(part):
            return None
        x = self.embedder(part.x, self.cache, hooks.cancel if hooks else None)
        return Arrays(x, part.y, part.songs)

    def fit(self, train: Arrays, valid: Arrays | None, hooks: Hooks | None = None) -> None:
        self.head.fit(self.embed(train, hooks), self.embed(valid, hooks), hooks)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.head.predict_proba(self.embedder(x, self.cache))

    def save(self, folder: Path) -> list[str]:
        folder = Path(folder)
        (folder / self.head_dir).mkdir()
        files = [f"{self.head_dir}/{name}" for name in self.head.save(folder / self.head_dir)]
        if self.config.encoder == "wav2vec2":
            files += save_encoder(self.embedder.model, folder, self.encoder_dir)
        return files

    def load_weights(self, folder: Path) -> None:
        folder = Path(folder)
        if self.config.encoder == "wav2vec2":
            self.encoder_source = str(folder / self.encoder_dir)
        self.cache = None
        self.head.load_weights(folder / self.head_dir)


_FEATURES = {
    "wav2vec2": ("wav2vec2", WAV2VEC2_RATE, {"size": "base"}, 2),
    "encodecmae": ("EnCodecMAE", ENCODECMAE_RATE, {"encoder": "encodecmae", "weights": "base"}, 3),
}
_PUBLISHED: dict[tuple[str, str], tuple[str, float | None]] = {
    ("rf-mean", "wav2vec2"): ("66", 66.0),
    ("rf-mean", "encodecmae"): ("79", 79.0),
    ("bigru-attn", "encodecmae"): ("85", 85.0),
    ("transformer", "wav2vec2"): ("46-79 by feature", None),
    ("transformer", "encodecmae"): ("46-79 by feature", None),
}
for _feature, (_title, _rate, _encoder, _pool) in _FEATURES.items():
    for _name, _head, _summary in (
        ("rf-mean", ForestMeanConfig(), "random forest (100 trees) on the time-mean"),
        ("bigru-attn", RnnAttentionConfig(cell="gru", hidden=32), "bidirectional GRU (H=32) + softmax attention"),
        ("transformer", TransformerConfig(time_pool=_pool),
         "4 encoder layers (4 heads, dim_feedforward 16) over 40 ms steps"),
    ):
        _published, _accuracy = _PUBLISHED.get((_name, _feature), ("", None))
        register(MethodSpec(
            name=f"{_name}-{_feature}", family=EmbeddingMethod, config=EmbeddingConfig(**_encoder, head=_head),
            seed="003", summary=f"{_summary} on {_title} embeddings (768-d frames of the first 15 s)",
            pipeline="waveform", pipeline_params={"sample_rate": _rate}, published=_published,
            published_accuracy=_accuracy, seed_protocol=SEED003_PROTOCOL))
