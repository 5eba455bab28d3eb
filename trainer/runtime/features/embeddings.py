"""Frame embeddings of pretrained audio encoders: wav2vec2 (through ``transformers``), EnCodecMAE
and MusiCNN.

All extractors keep one contract (seed 003's "wav2vec2" and "EnCodecMAE" inputs): ``windows``
(n, samples) mono float32 at the extractor's ``sample_rate`` -> (n, dim, frames) float32 of the
first ``seconds`` of each window, in the (n, bins, frames) layout of the frame-wise spectral
pipelines, so the networks of ``sequence_nets`` and the forest of ``spectral_nets`` read them as
they read a mel spectrogram (768 "bins" for the base models; 50 frames a second for wav2vec2, 75
for EnCodecMAE). MusiCNN's "frames" are its 3-s patches: 200-d ``penultimate`` or 753-d pooled
activations per patch, NaN for patches a window's audio does not reach (a track shorter than the
window), which the heads leave out.

Weights are never downloaded by this project: ``open_wav2vec2`` calls ``from_pretrained`` on a
folder the user saved (``save_pretrained``) or a hub id their cache or network can serve, and
makes a randomly initialised model only when asked to. EnCodecMAE comes from its published
package (``pip install git+https://github.com/habla-liaa/encodecmae``), imported only when used;
its ``load_model(name)`` fetches the checkpoint named ``name`` from the hub or the local cache.
MusiCNN's weights ship with the app (``resources/musicnn-msd`` and ``-mtt``).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

from trainer.runtime.device import resolve_device
from trainer.runtime.digest import file_digest
from trainer.runtime.errors import Cancelled, UserError

if TYPE_CHECKING:
    from transformers import Wav2Vec2Config, Wav2Vec2Model

WAV2VEC2_RATE = 16000
ENCODECMAE_RATE = 24000
MUSICNN_RATE = 16000
# The shipped MusiCNN taggers by short name: (method, bundle folder under the app's resources).
MUSICNN_MODELS = {"msd": ("musicnn-msd", "musicnn-msd"), "mtt": ("musicnn-mtt", "musicnn-mtt")}
MUSICNN_OUTPUTS = ("penultimate", "max_pool", "mean_pool")
# EnCodecMAE checkpoints the published package knows by name.
ENCODECMAE_MODELS = ("small", "base", "large", "base-st", "large-st")
ENCODECMAE_INSTALL = "pip install git+https://github.com/habla-liaa/encodecmae"

# Architectures for random initialisation: the published base and large shapes, and a tiny one
# for tests and CI-sized runs. Every other setting is transformers' default.
WAV2VEC2_SIZES: dict[str, dict[str, Any]] = {
    "base": {},
    "large": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096},
    "tiny": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
             "conv_dim": (16,) * 7, "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 4},
}


class WeightsNotFound(UserError, FileNotFoundError):
    """Weights named by the user that cannot be read; the message says what was looked for."""


def wav2vec2_config(size: str) -> Wav2Vec2Config:
    from transformers import Wav2Vec2Config

    if size not in WAV2VEC2_SIZES:
        raise KeyError(f"unknown wav2vec2 size {size!r}; known: {', '.join(WAV2VEC2_SIZES)}")
    return Wav2Vec2Config(**WAV2VEC2_SIZES[size])


def _looks_like_path(weights: str) -> bool:
    return Path(weights).expanduser().exists() or weights.startswith((".", "/", "~"))


def open_wav2vec2(weights: str | None, size: str = "base") -> Wav2Vec2Model:
    """A ``Wav2Vec2Model`` from ``weights`` (a local folder with ``config.json`` and the weights, or
    a hub id), or, with ``weights=None``, randomly initialised in the architecture ``size``.

    Callers decide whether random initialisation is allowed; this function only builds.
    """
    import transformers
    from transformers import Wav2Vec2Model

    transformers.utils.logging.disable_progress_bar()
    if weights is None:
        return Wav2Vec2Model(wav2vec2_config(size))
    if _looks_like_path(weights):
        folder = Path(weights).expanduser()
        if not (folder / "config.json").is_file():
            raise WeightsNotFound(f"no wav2vec2 weights at {folder}: expected a folder with config.json and "
                                  "model.safetensors (as save_pretrained writes it)")
        weights = str(folder)
    try:
        return Wav2Vec2Model.from_pretrained(weights, dtype=torch.float32)
    except OSError as exc:
        raise WeightsNotFound(f"cannot load wav2vec2 weights {weights!r}: {exc}") from None


_FINGERPRINTS: dict[tuple, str] = {}


def weights_fingerprint(weights: str) -> str:
    """Content hash of a local weights folder (memoised per file size and mtime), or the hub id
    itself: what embedding caches key on, so replaced weights never reuse stale embeddings."""
    folder = Path(weights).expanduser()
    if not folder.is_dir():
        return f"hub:{weights}"
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    memo = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if memo not in _FINGERPRINTS:
        digest = hashlib.sha256()
        for p in files:
            digest.update(f"{p.relative_to(folder)}:{file_digest(p)}".encode())
        _FINGERPRINTS[memo] = digest.hexdigest()
    return _FINGERPRINTS[memo]


def standardise_rows(x: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """(..., samples) -> zero mean, unit variance along the last axis: wav2vec2's input
    normalisation (``Wav2Vec2FeatureExtractor(do_normalize=True)``)."""
    mean = x.mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + eps)


class ArrayCache(Protocol):
    """Where embeddings are kept between runs, by key (the trainer's ``FeatureCache`` is one);
    tagging passes none."""

    def load(self, key: str) -> np.ndarray | None: ...

    def save(self, key: str, array: np.ndarray) -> None: ...


class FrameEmbedder(ABC):
    """(n, samples) at ``sample_rate`` -> (n, dim, frames) float32 of each window's first ``seconds``."""

    sample_rate: int
    seconds: float

    @abstractmethod
    def embed(self, windows: np.ndarray) -> np.ndarray:
        """Embeddings of windows already cut to ``seconds``."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Everything the embeddings depend on, the weights' fingerprint included (cache keys)."""

    def cut(self, windows: np.ndarray) -> np.ndarray:
        """The first ``seconds`` of each window: (n, samples) float32."""
        return np.atleast_2d(np.asarray(windows, dtype=np.float32))[:, : int(round(self.seconds * self.sample_rate))]

    def keys(self, windows: np.ndarray) -> list[str]:
        """One cache key per (cut) window: a hash of its samples and of ``describe``."""
        tag = json.dumps(self.describe(), sort_keys=True).encode()
        return [hashlib.sha256(np.ascontiguousarray(w).tobytes() + tag).hexdigest() for w in windows]

    def __call__(self, windows: np.ndarray, cache: ArrayCache | None = None,
                 cancel: Callable[[], bool] | None = None, chunk: int = 32) -> np.ndarray:
        """Embeddings of ``windows``, ``chunk`` windows at a time (``cancel`` is polled between
        chunks); with ``cache``, each window's embeddings are stored and found again by key."""
        head = self.cut(windows)
        keys = self.keys(head) if cache is not None else [None] * len(head)
        rows = [None if key is None else cache.load(key) for key in keys]
        todo = [i for i, row in enumerate(rows) if row is None]
        for start in range(0, len(todo), chunk):
            if cancel is not None and cancel():
                raise Cancelled("embedding cancelled")
            part = todo[start : start + chunk]
            for i, row in zip(part, self.embed(head[part])):
                rows[i] = row
                if keys[i] is not None:
                    cache.save(keys[i], row)
        return np.stack(rows) if rows else np.zeros((0, 0, 0), dtype=np.float32)


class Wav2Vec2Frames(FrameEmbedder):
    """Hidden states of ``layer`` (-1: the last; 0: the projected CNN features) per 20-ms frame.

    ``model`` is an open ``Wav2Vec2Model`` (``open_wav2vec2``); ``source`` names where it came from
    (a folder, a hub id, or ``random-<size>-seed<seed>``) and enters the cache key by content.
    """

    sample_rate = WAV2VEC2_RATE

    def __init__(self, model: Wav2Vec2Model, source: str, layer: int = -1, seconds: float = 15.0,
                 device: str = "auto", batch_size: int = 8) -> None:
        self.model = model.eval()
        self.source, self.layer, self.seconds, self.batch_size = source, layer, seconds, batch_size
        self.device = resolve_device(device)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def describe(self) -> dict[str, Any]:
        fingerprint = self.source if self.source.startswith("random-") else weights_fingerprint(self.source)
        return {"encoder": "wav2vec2", "weights": fingerprint, "layer": self.layer, "seconds": self.seconds}

    def embed(self, windows: np.ndarray) -> np.ndarray:
        self.model.to(self.device)
        out = []
        with torch.inference_mode():
            for start in range(0, len(windows), self.batch_size):
                batch = standardise_rows(torch.as_tensor(windows[start : start + self.batch_size]).to(self.device))
                states = self.model(batch, output_hidden_states=self.layer != -1)
                hidden = states.last_hidden_state if self.layer == -1 else states.hidden_states[self.layer]
                out.append(hidden.transpose(1, 2).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim, 0), dtype=np.float32)


def import_encodecmae():
    """The ``encodecmae`` package, or an ImportError that says how to install it."""
    try:
        import encodecmae
    except ImportError:
        raise ImportError(f"EnCodecMAE embeddings need the encodecmae package ({ENCODECMAE_INSTALL}); "
                          "it is not installed") from None
    return encodecmae


class EncodecMaeFrames(FrameEmbedder):
    """EnCodecMAE's visible-encoder embeddings (768-d for ``base``) per 13.3-ms frame at 24 kHz,
    through the package's own ``extract_features_from_array`` (one window at a time)."""

    sample_rate = ENCODECMAE_RATE

    def __init__(self, name: str = "base", seconds: float = 15.0, device: str = "auto") -> None:
        if name not in ENCODECMAE_MODELS:
            raise KeyError(f"unknown EnCodecMAE model {name!r}; the package knows {', '.join(ENCODECMAE_MODELS)}")
        self.name, self.seconds = name, seconds
        self.device = resolve_device(device)
        try:
            self.model = import_encodecmae().load_model(name, device=str(self.device))
        except OSError as exc:
            raise WeightsNotFound(f"cannot load the EnCodecMAE checkpoint {name!r} (from the hub or its cache): "
                                  f"{exc}") from None

    def describe(self) -> dict[str, Any]:
        return {"encoder": "encodecmae", "weights": self.name, "seconds": self.seconds}

    def embed(self, windows: np.ndarray) -> np.ndarray:
        frames = [np.asarray(self.model.extract_features_from_array(w), dtype=np.float32).T for w in windows]
        return np.stack(frames) if frames else np.zeros((0, 0, 0), dtype=np.float32)


def musicnn_weights(weights: str) -> Path:
    """The folder holding ``musicnn.safetensors`` for ``weights``: a short name of a shipped
    tagger (``msd``, ``mtt``) or a folder the user gives (a MusiCNN bundle or a head's ``encoder/``)."""
    from trainer.runtime.models.musicnn import WEIGHTS_FILE
    from trainer.runtime.resources import RESOURCES

    folder = RESOURCES / MUSICNN_MODELS[weights][1] if weights in MUSICNN_MODELS else Path(weights).expanduser()
    if not (folder / WEIGHTS_FILE).is_file():
        raise WeightsNotFound(f"no MusiCNN weights at {folder}: expected {WEIGHTS_FILE} there "
                              f"(or name a shipped tagger: {', '.join(MUSICNN_MODELS)})")
    return folder


class MusicnnPatches(FrameEmbedder):
    """MusiCNN's per-patch ``output`` (``penultimate``: 200-d; ``max_pool``/``mean_pool``: 753-d)
    for each 3-s patch of the window: (n, dim, patches), NaN columns for absent patches.

    ``weights`` as for ``musicnn_weights``; both shipped taggers have the same network, so the
    weights alone decide what the embeddings mean.
    """

    sample_rate = MUSICNN_RATE

    def __init__(self, weights: str = "msd", output: str = "penultimate", seconds: float = 30.0,
                 device: str = "auto") -> None:
        from trainer.runtime.features.musicnn import MusicnnMel
        from trainer.runtime.models.musicnn import (
            MSD_TAGS,
            MusicnnConfig,
            MusicnnTagger,
        )

        if output not in MUSICNN_OUTPUTS:
            raise KeyError(f"unknown MusiCNN output {output!r}; known: {', '.join(MUSICNN_OUTPUTS)}")
        self.folder = musicnn_weights(weights)
        self.output, self.seconds = output, seconds
        self.mel = MusicnnMel()
        self.tagger = MusicnnTagger(MusicnnConfig(device=device), list(MSD_TAGS))
        self.tagger.load_weights(self.folder)

    @property
    def weights_file(self) -> Path:
        from trainer.runtime.models.musicnn import WEIGHTS_FILE

        return self.folder / WEIGHTS_FILE

    def describe(self) -> dict[str, Any]:
        return {"encoder": "musicnn", "weights": file_digest(self.weights_file), "output": self.output,
                "seconds": self.seconds}

    def embed(self, windows: np.ndarray) -> np.ndarray:
        if not len(windows):
            return np.zeros((0, 0, 0), dtype=np.float32)
        return self.tagger.embed(self.mel(windows), self.output).transpose(0, 2, 1).copy()
