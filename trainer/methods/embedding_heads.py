"""Seed 003's rows (and the MusiCNN heads) on pretrained embeddings, as trained here: which
weights they need, the embedding cache, training the head on embeddings made once, and the
registrations (encoders, heads, load and save: ``trainer.runtime.models.embedding_heads``).
"""

from __future__ import annotations

from typing import Any

from trainer.data.feature_cache import FeatureCache
from trainer.methods import MethodSpec, register
from trainer.methods.base import Arrays, Hooks, Method
from trainer.methods.image_nets import SEED004_PROTOCOL
from trainer.methods.pretrained import PretrainedMethod
from trainer.methods.sequence_nets import SEED003_PROTOCOL, SequenceMethod
from trainer.methods.spectral_nets import ForestMeanMethod
from trainer.methods.torch_method import TorchMethod
from trainer.runtime.features.embeddings import (
    ENCODECMAE_RATE,
    MUSICNN_RATE,
    WAV2VEC2_RATE,
)
from trainer.runtime.models.base import TrainConfig
from trainer.runtime.models.embedding_heads import (
    EmbeddingConfig,
    EmbeddingModel,
    PatchMlpConfig,
    PatchMlpModel,
)
from trainer.runtime.models.sequence_nets import RnnAttentionConfig, TransformerConfig
from trainer.runtime.models.spectral_nets import ForestMeanConfig


class PatchMlpMethod(TorchMethod, PatchMlpModel):
    """A dense head trained on every present patch as an example of its window's label."""


# Which seed-003 method trains on the frames, by the type of its config.
HEAD_METHODS: dict[type, type[Method]] = {
    ForestMeanConfig: ForestMeanMethod,
    RnnAttentionConfig: SequenceMethod,
    TransformerConfig: SequenceMethod,
    PatchMlpConfig: PatchMlpMethod,
}


class EmbeddingMethod(PretrainedMethod, Method, EmbeddingModel):
    """Embeds windows with a pretrained encoder (cached by content with ``cache_dir``), then
    trains the wrapped method on the embeddings."""

    def __init__(self, spec, config: EmbeddingConfig, labels: list[str]) -> None:
        super().__init__(spec, config, labels)
        self.cache = FeatureCache(config.cache_dir) if config.cache_dir else None

    def make_head(self, config: Any) -> Method:
        return HEAD_METHODS[type(config)](self.spec, config, self.labels)

    @classmethod
    def weights_key(cls, config: EmbeddingConfig) -> str:
        return config.encoder if config.encoder != "wav2vec2" else f"wav2vec2-{config.size}"

    @classmethod
    def tiny_overrides(cls, config: EmbeddingConfig) -> dict[str, Any]:
        return {"size": "tiny"} if config.encoder == "wav2vec2" and config.weights is None else {}

    @property
    def uses_validation(self) -> bool:
        return self.head.uses_validation

    def embed(self, part: Arrays | None, hooks: Hooks | None = None) -> Arrays | None:
        """``part`` with its windows replaced by their (n, dim, frames) embeddings."""
        if part is None or not len(part):
            return None
        return Arrays(self.embedder(part.x, self.cache, hooks.cancel if hooks else None), part.y, part.songs)

    def fit(self, train: Arrays, valid: Arrays | None, hooks: Hooks | None = None) -> None:
        self.fit_frames(self.embed(train, hooks), self.embed(valid, hooks), hooks)

    def fit_frames(self, train: Arrays, valid: Arrays | None, hooks: Hooks | None = None) -> None:
        """Train the head on embeddings made before (``embed``), e.g. once for many heads."""
        view = (lambda part: None if part is None else Arrays(self.head_view(part.x), part.y, part.songs))
        self.head.fit(view(train), view(valid), hooks)


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

# Method names of seed 003's heads on MusiCNN share the prefix of their spectral twins.
_MUSICNN_HEADS = (
    ("rf-mean", ForestMeanConfig(), "003", "random forest (100 trees) on the mean over the window's patches"),
    ("bigru-attn", RnnAttentionConfig(cell="gru", hidden=32), "003",
     "bidirectional GRU (H=32) + softmax attention over the window's patches"),
    ("bilstm-attn", RnnAttentionConfig(cell="lstm", hidden=16), "003",
     "bidirectional LSTM (H=16) + softmax attention over the window's patches"),
    ("probe", PatchMlpConfig(hidden=(128,)), "004", "linear probe head 128 per patch, patch probabilities averaged"),
    ("logreg", PatchMlpConfig(hidden=(), train=TrainConfig(epochs=100, batch_size=32, lr=1e-3, patience=10,
                                                          weight_decay=1e-4)), "",
     "logistic regression per patch, patch probabilities averaged"),
    ("mlp", PatchMlpConfig(hidden=(256,), batch_norm=True, dropout=0.5,
                           train=TrainConfig(epochs=100, batch_size=32, lr=1e-3, patience=10)), "",
     "MLP 256 (BN, dropout .5) per patch, patch probabilities averaged"),
)
for _name, _head, _seed, _summary in _MUSICNN_HEADS:
    register(MethodSpec(
        name=f"{_name}-musicnn", family=EmbeddingMethod,
        config=EmbeddingConfig(encoder="musicnn", weights="msd", seconds=30.0, head=_head), seed=_seed,
        summary=f"{_summary} of MusiCNN embeddings (200-d penultimate of 3-s patches of a 30-s window)",
        pipeline="waveform", pipeline_params={"sample_rate": MUSICNN_RATE},
        seed_protocol={"003": SEED003_PROTOCOL, "004": SEED004_PROTOCOL}.get(_seed, "")))
