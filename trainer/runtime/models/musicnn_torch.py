"""MusiCNN's network in torch: the port of the package's graph, for GPUs and for training heads.

On a CPU the tagger runs the same network in numpy (``musicnn_cpu``); both are held to the original
package's outputs. Loaded only when torch will run it, so the tagger on a CPU never imports torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from trainer.runtime.models.musicnn import (
    BN_EPS,
    FRONTEND_WIDTH,
    MIDEND_KERNEL,
    TEMPORAL_FILTERS,
    TEMPORAL_KERNELS,
    TIMBRAL_FILTERS,
    TIMBRAL_KERNELS,
)


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
