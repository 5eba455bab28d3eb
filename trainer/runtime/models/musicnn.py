"""MusiCNN (Pons & Serra 2019) in torch: the MSD and MagnaTagATune taggers of the ``musicnn`` 0.1.0
package (ISC licence, Music Technology Group, Universitat Pompeu Fabra), converted from its
TensorFlow checkpoints by ``scripts/convert_musicnn.py`` and held to the original's outputs by
``tests/trainer/musicnn``.

The network reads (patches, 187 frames, 96 mel bands) of the ``musicnn-mel`` pipeline and gives
per patch 50 sigmoid tag probabilities and the package's activations (``MusiCNN.forward``). A
window's probabilities are the mean over its patches, as the package's own tagger averages its
taggram; patches a window does not have (NaN from the pipeline) are left out of the mean.

These taggers are converted, not trained here: they refuse any tag list but their own (and
their methods in ``trainer.methods.musicnn`` refuse ``fit``). Heads on GTZAN's or a user's
genres learn from ``embed``'s 200-d ``penultimate`` or 753-d ``max_pool``/``mean_pool`` per patch
instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from trainer.runtime.device import resolve_device
from trainer.runtime.errors import MethodUnavailable
from trainer.runtime.models.base import Model, families
from trainer.runtime.models.musicnn_cpu import MusicnnCpu

# The package's ``configuration.py``: tags in output order.
MSD_TAGS = ("rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
            "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock",
            "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental",
            "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist",
            "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy", "catchy", "funk",
            "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy")
MTT_TAGS = ("guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
            "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing",
            "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal",
            "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance",
            "male voice", "female vocal", "beats", "harp", "cello", "no voice", "weird", "country", "metal",
            "female voice", "choral")
TAGS = {"MSD_musicnn": MSD_TAGS, "MTT_musicnn": MTT_TAGS}

PATCH_FRAMES = 187
N_MELS = 96
# tf.compat.v1.layers.batch_normalization's default, which the package's graph keeps.
BN_EPS = 1e-3
TIMBRAL_FILTERS = 204                     # int(1.6 * 128)
TEMPORAL_FILTERS = 51                     # int(1.6 * 32)
TIMBRAL_KERNELS = ((7, int(0.4 * N_MELS)), (7, int(0.7 * N_MELS)))   # (time, frequency): 7x38 and 7x67
TEMPORAL_KERNELS = (128, 64, 32)          # time only, one frequency band at a time
MIDEND_KERNEL = 7
FRONTEND_WIDTH = 2 * TIMBRAL_FILTERS + 3 * TEMPORAL_FILTERS       # 561
WEIGHTS_FILE = "musicnn.safetensors"


def _same_padding(kernel: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding at stride 1: the odd extra frame goes after, not before."""
    return (kernel - 1) // 2, kernel // 2


class MusiCNN(nn.Module):
    """The package's ``build_musicnn`` (front end '7774timbraltemporal', dense mid end, global
    max+mean pooling back end) in eval mode; parameter names follow the parts of that graph.

    ``forward`` takes log-mel patches (batch, 187 frames, 96 bands) and returns a dict:
    ``logits`` and ``probs`` (batch, tags); ``timbral`` (batch, 408, frames), ``temporal``
    (batch, 153, frames), ``cnn1``..``cnn3`` (batch, 64, frames) (channels first; the package
    gives the transpose); ``max_pool`` and ``mean_pool`` (batch, 753); ``penultimate`` (batch, 200).
    """

    def __init__(self, n_tags: int = 50, midend_filters: int = 64, backend_units: int = 200) -> None:
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1, eps=BN_EPS)
        self.timbral = nn.ModuleList(_ConvBn(nn.Conv2d(1, TIMBRAL_FILTERS, k), nn.BatchNorm1d(TIMBRAL_FILTERS, eps=BN_EPS))
                                     for k in TIMBRAL_KERNELS)
        self.temporal = nn.ModuleList(_ConvBn(nn.Conv2d(1, TEMPORAL_FILTERS, (k, 1)), nn.BatchNorm1d(TEMPORAL_FILTERS, eps=BN_EPS))
                                      for k in TEMPORAL_KERNELS)
        widths = (FRONTEND_WIDTH, midend_filters, midend_filters)
        self.midend = nn.ModuleList(_ConvBn(nn.Conv1d(w, midend_filters, MIDEND_KERNEL, padding=MIDEND_KERNEL // 2),
                                            nn.BatchNorm1d(midend_filters, eps=BN_EPS)) for w in widths)
        pooled = 2 * (FRONTEND_WIDTH + 3 * midend_filters)
        self.pool_bn = nn.BatchNorm1d(pooled, eps=BN_EPS)
        self.dense = nn.Linear(pooled, backend_units)
        self.dense_bn = nn.BatchNorm1d(backend_units, eps=BN_EPS)
        self.output = nn.Linear(backend_units, n_tags)

    def forward(self, patches: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.input_bn(patches.unsqueeze(1))                            # (B, 1, T, F)
        front = torch.cat([block.timbral(x) for block in self.timbral]
                          + [block.temporal(x) for block in self.temporal], dim=1)   # (B, 561, T)
        cnn1 = self.midend[0].midend(front)
        cnn2 = self.midend[1].midend(cnn1) + cnn1
        cnn3 = self.midend[2].midend(cnn2) + cnn2
        features = torch.cat([front, cnn1, cnn2, cnn3], dim=1)             # (B, 753, T)
        max_pool = features.amax(dim=2)
        mean_pool = features.mean(dim=2)
        # The graph flattens (753, 2) [max, mean] pairs: max_0, mean_0, max_1, mean_1, ...
        pooled = torch.stack([max_pool, mean_pool], dim=2).flatten(1)
        penultimate = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        logits = self.output(penultimate)
        return {"logits": logits, "probs": torch.sigmoid(logits), "timbral": front[:, : 2 * TIMBRAL_FILTERS],
                "temporal": front[:, 2 * TIMBRAL_FILTERS :], "cnn1": cnn1, "cnn2": cnn2, "cnn3": cnn3,
                "max_pool": max_pool, "mean_pool": mean_pool, "penultimate": penultimate}


class _ConvBn(nn.Module):
    """A convolution, ReLU and batch norm; in the front end, then the max over all frequencies."""

    def __init__(self, conv: nn.Conv1d | nn.Conv2d, bn: nn.BatchNorm1d) -> None:
        super().__init__()
        self.conv = conv
        self.bn = bn

    def timbral(self, x: torch.Tensor) -> torch.Tensor:
        """Frames zero-padded by 3 on each side (after the input batch norm); valid in frequency."""
        pad = self.conv.kernel_size[0] // 2
        return self._max_over_frequency(F.pad(x, (0, 0, pad, pad)))

    def temporal(self, x: torch.Tensor) -> torch.Tensor:
        return self._max_over_frequency(F.pad(x, (0, 0, *_same_padding(self.conv.kernel_size[0]))))

    def _max_over_frequency(self, x: torch.Tensor) -> torch.Tensor:
        """max over frequency of bn(relu(conv(x))), (B, C, T), with one pass over the convolution's
        (B, C, T, F) output. ReLU and an eval batch norm are monotone per channel, so they apply to
        the extreme alone: the maximum where the norm's scale is positive, the minimum where it is
        negative, found as the maximum of the negated filter (negation is exact in floating point)."""
        scale, shift = _bn_affine(self.bn)
        sign = torch.where(scale >= 0, 1.0, -1.0)
        y = F.conv2d(x, self.conv.weight * sign[:, None, None, None], self.conv.bias * sign)
        extreme = y.amax(dim=3) * sign[:, None]
        return F.relu(extreme) * scale[:, None] + shift[:, None]

    def midend(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(self.conv(x)))


def _bn_affine(bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """An eval-mode batch norm as ``y = x * scale + shift``."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


@dataclass(frozen=True)
class MusicnnConfig:
    """``source``: which of the package's taggers (its tags come with it). ``batch_patches``:
    patches per forward pass. ``device``: where the network runs (``auto``: CUDA when present)."""

    source: Literal["MSD_musicnn", "MTT_musicnn"] = "MSD_musicnn"
    midend_filters: int = 64
    backend_units: int = 200
    batch_patches: int = 64
    device: str = "auto"


class MusicnnTagger(Model):
    """A converted MusiCNN tagger over ``musicnn-mel`` patches: per-window tag probabilities."""

    config_families: ClassVar[dict[type, str]] = {MusicnnConfig: "musicnn.tagger"}

    def __init__(self, config: MusicnnConfig, labels: list[str]) -> None:
        super().__init__(config, labels)
        if tuple(labels) != TAGS[config.source]:
            raise MethodUnavailable(f"MusiCNN {config.source} is converted from the musicnn package with its own "
                                    f"{len(TAGS[config.source])} tags and is not trained here; train a head on its "
                                    "embeddings for other labels")
        self.net = MusiCNN(len(labels), config.midend_filters, config.backend_units).eval()
        self.net.requires_grad_(False)
        self.engine: Literal["auto", "torch"] = "auto"    # "torch": the port itself on the CPU too

    @property
    def pretrained(self) -> bool:
        return True

    @property
    def device(self) -> torch.device:
        return resolve_device(self.config.device)

    @cached_property
    def cpu_engine(self) -> MusicnnCpu:
        """The same network in numpy, several times faster on a CPU (held to the same references)."""
        return MusicnnCpu({k: v.numpy() for k, v in self.net.state_dict().items()})

    def patch_outputs(self, patches: np.ndarray | torch.Tensor, keys: tuple[str, ...] = ("probs",)) -> dict[str, np.ndarray]:
        """``keys`` of ``MusiCNN.forward`` for (n, 187, 96) patches, ``batch_patches`` at a time; on
        the CPU by ``cpu_engine`` unless ``engine`` is "torch"."""
        device = self.device
        if device.type == "cpu" and self.engine != "torch":
            x = np.asarray(patches, dtype=np.float32)
            parts = [self.cpu_engine(x[i : i + self.config.batch_patches], keys)
                     for i in range(0, len(x), self.config.batch_patches)]
            return {k: (np.concatenate([p[k] for p in parts]) if parts else np.zeros((0,), np.float32)) for k in keys}
        x = torch.as_tensor(patches, dtype=torch.float32)
        self.net.to(device)
        parts: dict[str, list[torch.Tensor]] = {k: [] for k in keys}
        with torch.inference_mode():
            for start in range(0, len(x), self.config.batch_patches):
                out = self.net(x[start : start + self.config.batch_patches].to(device))
                for k in keys:
                    parts[k].append(out[k].float().cpu())
        return {k: (torch.cat(v).numpy() if v else np.zeros((0,), np.float32)) for k, v in parts.items()}

    def window_outputs(self, x: np.ndarray, keys: tuple[str, ...] = ("probs",)) -> dict[str, np.ndarray]:
        """Per-patch ``keys`` for windows of patches (n, P, 187, 96): each (n, P, ...), NaN where a
        window has no patch (the pipeline marks them NaN)."""
        x = np.asarray(x, dtype=np.float32)
        n, p = x.shape[:2]
        flat = x.reshape(n * p, *x.shape[2:])
        present = ~np.isnan(flat[:, 0, 0])
        outputs = self.patch_outputs(flat[present], keys)
        result = {}
        for k, v in outputs.items():
            full = np.full((n * p, *v.shape[1:]), np.nan, dtype=np.float32)
            full[present] = v
            result[k] = full.reshape(n, p, *v.shape[1:])
        return result

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(n, tags): the mean of each window's patch probabilities (independent sigmoids, so rows
        need not sum to 1)."""
        return np.nanmean(self.window_outputs(x)["probs"], axis=1)

    def embed(self, x: np.ndarray, key: Literal["penultimate", "max_pool", "mean_pool"] = "penultimate") -> np.ndarray:
        """Per-patch embeddings (n, P, dim) of windows of patches, NaN rows for absent patches."""
        return self.window_outputs(x, (key,))[key]

    def save(self, folder: Path) -> list[str]:
        save_file({k: v.contiguous() for k, v in self.net.state_dict().items()}, str(Path(folder) / WEIGHTS_FILE))
        return [WEIGHTS_FILE]

    def load_weights(self, folder: Path) -> None:
        self.net.load_state_dict(load_file(str(Path(folder) / WEIGHTS_FILE)))
        self.net.eval()
        self.__dict__.pop("cpu_engine", None)


FAMILIES = families(MusicnnTagger)
