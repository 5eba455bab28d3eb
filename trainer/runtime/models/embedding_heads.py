"""Seed 003's rows on pretrained embeddings: its forest, recurrent and transformer models reading
wav2vec2 or EnCodecMAE frames instead of a spectrogram.

The input is the ``waveform`` pipeline at the encoder's rate (16 kHz for wav2vec2, 24 kHz for
EnCodecMAE); the method embeds the first 15 s of each window (``trainer.runtime.features.embeddings``:
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

On MusiCNN (``*-musicnn``, 16 kHz windows of 30 s) the frames are the window's 3-s patches
(``trainer.runtime.features.embeddings.MusicnnPatches``), and the heads read them so that a 3-s excerpt
and a 30-s window are judged alike: the forest reads the mean over the patches the window has;
the recurrent heads read the patches in order, the absent ones (a track shorter than the window)
filled by repeating the present ones, as MusiCNN repeat-pads short audio; the per-patch heads
(seed 004's probe, a logistic regression, a small MLP) classify every present patch and average
the patch probabilities. A bundle carries its copy of the 3-MB MusiCNN weights (``encoder/``).
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import nn

from trainer.runtime.errors import MethodUnavailable
from trainer.runtime.features.embeddings import (
    ArrayCache,
    EncodecMaeFrames,
    FrameEmbedder,
    MusicnnPatches,
    Wav2Vec2Frames,
    import_encodecmae,
    open_wav2vec2,
)
from trainer.runtime.models.base import Family, Model, TrainConfig
from trainer.runtime.models.nets import TorchModel, mlp, save_encoder
from trainer.runtime.models.sequence_nets import (
    RnnAttentionConfig,
    SequenceModel,
    TransformerConfig,
)
from trainer.runtime.models.spectral_nets import ForestMeanConfig, ForestMeanModel


@dataclass(frozen=True)
class PatchMlpConfig:
    """A dense head on single patches: ``hidden=()`` is a logistic regression."""

    hidden: tuple[int, ...] = (128,)
    batch_norm: bool = False
    dropout: float = 0.0
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=30, batch_size=16, lr=1e-3, patience=5))


def present_patches(x: np.ndarray) -> np.ndarray:
    """(n, dim, patches) -> (n, patches) mask of the patches a window has (not NaN)."""
    return ~np.isnan(np.asarray(x)[:, 0, :])


def fill_absent(x: np.ndarray) -> np.ndarray:
    """(n, dim, patches) with NaN patches -> the present patches repeated in order in their place."""
    x = np.asarray(x, dtype=np.float32)
    mask = present_patches(x)
    if mask.all():
        return x
    out = x.copy()
    for i in np.flatnonzero(~mask.all(axis=1)):
        have = np.flatnonzero(mask[i])
        out[i] = x[i][:, have[np.arange(x.shape[2]) % len(have)]]
    return out


class PatchMlpModel(TorchModel):
    """(n, dim, patches) -> a dense head trained on every present patch as an example of its
    window's label; a window's probabilities are the mean over its present patches."""

    config_families: ClassVar[dict[type, str]] = {PatchMlpConfig: "patch-mlp"}  # a head only: its bundles are embedding families
    keep_axes = (0,)

    def build(self, input_shape: tuple[int, ...]) -> nn.Module:
        c = self.config
        return mlp(input_shape[0], c.hidden, len(self.labels), batch_norm=c.batch_norm, dropout=c.dropout)

    def examples(self, x: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        x = np.asarray(x, dtype=np.float32)
        mask = present_patches(x)
        rows = x.transpose(0, 2, 1)[mask]
        return rows, None if y is None else np.repeat(y, mask.sum(axis=1))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        counts = present_patches(x).sum(axis=1)
        rows, _ = self.examples(x)
        proba = self.example_proba(self.normalizer(rows))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)
        return np.add.reduceat(proba, starts, axis=0) / counts[:, None] if len(x) else proba

# Which seed-003 model reads the frames, by the type of its config.
HEAD_MODELS: dict[type, type[Model]] = {
    ForestMeanConfig: ForestMeanModel,
    RnnAttentionConfig: SequenceModel,
    TransformerConfig: SequenceModel,
    PatchMlpConfig: PatchMlpModel,
}


@dataclass(frozen=True)
class EmbeddingConfig:
    """``weights``: for wav2vec2 a folder or hub id (``size`` shapes a random initialisation);
    for EnCodecMAE the package's checkpoint name; for MusiCNN ``msd``, ``mtt`` (the shipped
    taggers) or a folder with ``musicnn.safetensors``. ``layer``: which hidden states of wav2vec2
    (-1 the last); ``output``: which MusiCNN activations (``penultimate``, ``max_pool``,
    ``mean_pool``). ``head``: the wrapped method's own config; ``seed`` and ``device`` reach it."""

    encoder: Literal["wav2vec2", "encodecmae", "musicnn"] = "wav2vec2"
    size: str = "base"
    weights: str | None = None
    allow_random_init: bool = False
    layer: int = -1
    output: str = "penultimate"
    seconds: float = 15.0
    cache_dir: str | None = None
    device: str = "auto"
    seed: int = 0
    head: Any = field(default_factory=ForestMeanConfig)


def _seeded(head: Any, seed: int, device: str) -> Any:
    if hasattr(head, "train"):
        return dataclasses.replace(head, train=dataclasses.replace(head.train, seed=seed, device=device))
    return dataclasses.replace(head, seed=seed)


class EmbeddingModel(Model):
    """Embeds windows with a pretrained encoder, then predicts with the wrapped head model."""

    encoder_dir = "encoder"
    head_dir = "head"

    def __init__(self, config: EmbeddingConfig, labels: list[str]) -> None:
        super().__init__(config, labels)
        if config.encoder == "encodecmae":
            if config.weights is None:
                raise MethodUnavailable("EnCodecMAE has no random initialisation here: name one of the package's "
                                        "checkpoints (e.g. --weights encodecmae=base)")
            try:
                import_encodecmae()
            except ImportError as exc:
                raise MethodUnavailable(str(exc)) from None
        self.head = self.make_head(_seeded(config.head, config.seed, config.device))
        self.encoder_source = config.weights
        self.cache: ArrayCache | None = None
        self._embedder: FrameEmbedder | None = None

    def make_head(self, config: Any) -> Model:
        """The head model that reads the embeddings, by the type of its config."""
        return HEAD_MODELS[type(config)](config, self.labels)

    @property
    def family(self) -> str:
        """``embedding_heads.<head>``: the head decides which default settings a bundle is checked against."""
        return f"embedding_heads.{self.head.family.rpartition('.')[2]}"

    @property
    def embedder(self) -> FrameEmbedder:
        """The encoder, opened on first use."""
        if self._embedder is None:
            c = self.config
            if c.encoder == "encodecmae":
                self._embedder = EncodecMaeFrames(c.weights, c.seconds, c.device)
            elif c.encoder == "musicnn":
                self._embedder = MusicnnPatches(self.encoder_source, c.output, c.seconds, c.device)
            else:
                torch.manual_seed(c.seed)  # a random initialisation depends on the seed alone
                source = self.encoder_source or f"random-{c.size}-seed{c.seed}"
                self._embedder = Wav2Vec2Frames(open_wav2vec2(self.encoder_source, c.size), source, c.layer,
                                                c.seconds, c.device)
        return self._embedder

    def head_view(self, frames: np.ndarray) -> np.ndarray:
        """(n, dim, frames) embeddings -> the head's input: the forest gets the mean over the
        frames present, the recurrent heads absent frames filled, the per-patch heads all."""
        if isinstance(self.head, ForestMeanModel):
            return np.nanmean(frames, axis=-1)
        if isinstance(self.head, SequenceModel):
            return fill_absent(frames)
        return frames

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.head.predict_proba(self.head_view(self.embedder(x, self.cache)))

    def save(self, folder: Path) -> list[str]:
        folder = Path(folder)
        (folder / self.head_dir).mkdir()
        files = [f"{self.head_dir}/{name}" for name in self.head.save(folder / self.head_dir)]
        if self.config.encoder == "wav2vec2":
            files += save_encoder(self.embedder.model, folder, self.encoder_dir)
        elif self.config.encoder == "musicnn":
            source = self.embedder.weights_file
            (folder / self.encoder_dir).mkdir()
            shutil.copyfile(source, folder / self.encoder_dir / source.name)
            files.append(f"{self.encoder_dir}/{source.name}")
        return files

    def load_weights(self, folder: Path) -> None:
        folder = Path(folder)
        if self.config.encoder in ("wav2vec2", "musicnn"):
            self._embedder = None
            self.encoder_source = str(folder / self.encoder_dir)
        self.cache = None
        self.head.load_weights(folder / self.head_dir)


FAMILIES = {f"embedding_heads.{model.config_families[head].rpartition('.')[2]}":
            Family(EmbeddingModel, partial(EmbeddingConfig, head=head()))
            for head, model in HEAD_MODELS.items()}
