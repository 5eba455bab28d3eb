"""Where tensors live, and the process-wide torch settings, decided in one place.

``resolve_device`` is the one answer to "auto": CUDA, then Apple's MPS, then the CPU.
``configure_process`` sets torch's thread count and matrix-product precision once, at the start
of a process (the command lines, the window, the tagger's decoding workers), so that no feature
or model function changes global state in the middle of a call.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; any other name (``cuda:1``) is torch's."""
    import torch

    if str(name) != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def configure_process(threads: int | None = None) -> None:
    """Torch's intra-op thread count (``threads``; None keeps torch's default of one per core) and
    full float32 precision for matrix products: feature filterbanks (the GTZAN torch engine)
    must match librosa, which TF32 products would not. Before torch is loaded this imports nothing:
    torch reads the thread count from the environment when it loads, and full precision is its default."""
    if "torch" not in sys.modules:
        if threads is not None:
            os.environ["OMP_NUM_THREADS"] = str(threads)
        return
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    torch.set_float32_matmul_precision("highest")
