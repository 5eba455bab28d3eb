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
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from safetensors.numpy import load_file, save_file

from trainer.runtime.device import device_name
from trainer.runtime.errors import MethodUnavailable
from trainer.runtime.models.base import Model, families
from trainer.runtime.models.musicnn_cpu import MusicnnCpu

if TYPE_CHECKING:
    import torch

    from trainer.runtime.models.musicnn_torch import MusiCNN

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
        self.weights: dict[str, np.ndarray] = {}
        self.engine: Literal["auto", "torch"] = "auto"    # "torch": the port itself on the CPU too

    @property
    def pretrained(self) -> bool:
        return True

    @property
    def device(self) -> str:
        return device_name(self.config.device)

    @cached_property
    def net(self) -> MusiCNN:
        """The torch port with the loaded weights (built on first use: a CPU never needs it)."""
        import torch

        from trainer.runtime.models.musicnn_torch import MusiCNN

        net = MusiCNN(len(self.labels), self.config.midend_filters, self.config.backend_units).eval()
        if self.weights:
            net.load_state_dict({k: torch.from_numpy(v) for k, v in self.weights.items()})
        return net.requires_grad_(False)

    @cached_property
    def cpu_engine(self) -> MusicnnCpu:
        """The same network in numpy, several times faster on a CPU (held to the same references)."""
        return MusicnnCpu(self.weights or {k: v.numpy() for k, v in self.net.state_dict().items()})

    def patch_outputs(self, patches: np.ndarray | torch.Tensor, keys: tuple[str, ...] = ("probs",)) -> dict[str, np.ndarray]:
        """``keys`` of ``MusiCNN.forward`` for (n, 187, 96) patches, ``batch_patches`` at a time; on
        the CPU by ``cpu_engine`` unless ``engine`` is "torch"."""
        device = self.device
        if device == "cpu" and self.engine != "torch":
            x = np.asarray(patches, dtype=np.float32)
            parts = [self.cpu_engine(x[i : i + self.config.batch_patches], keys)
                     for i in range(0, len(x), self.config.batch_patches)]
            return {k: (np.concatenate([p[k] for p in parts]) if parts else np.zeros((0,), np.float32)) for k in keys}
        import torch

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
        weights = self.weights or {k: v.numpy() for k, v in self.net.state_dict().items()}
        save_file({k: np.ascontiguousarray(v) for k, v in weights.items()}, str(Path(folder) / WEIGHTS_FILE))
        return [WEIGHTS_FILE]

    def load_weights(self, folder: Path) -> None:
        """The weights as arrays; each engine is built from them when first used. Names and shapes
        are checked against the network's own (from the numpy engine's declared layout) by the
        engine that reads them, so a damaged file fails on load."""
        self.weights = load_file(str(Path(folder) / WEIGHTS_FILE))
        for cached in ("net", "cpu_engine"):
            self.__dict__.pop(cached, None)
        if self.device == "cpu" and self.engine != "torch":
            self.cpu_engine  # noqa: B018  (built now, so a damaged file fails at load, not mid-run)
        else:
            self.net  # noqa: B018


FAMILIES = families(MusicnnTagger)
