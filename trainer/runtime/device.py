"""Where tensors live, and the process-wide torch settings, decided in one place.

``resolve_device`` is the one answer to "auto": CUDA, then Apple's MPS, then the CPU.
``configure_process`` sets torch's thread count and matrix-product precision once, at the start
of a process (the command lines, the window, the tagger's decoding workers), so that no feature
or model function changes global state in the middle of a call.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda", "mps")


def no_gpu_here() -> bool:
    """Whether this machine certainly has no GPU torch could use: Linux with no NVIDIA or AMD
    driver loaded. Knowing that saves importing torch (seconds) where a numpy engine will do."""
    if not sys.platform.startswith("linux"):
        return False
    return not (Path("/proc/driver/nvidia/version").exists() or Path("/dev/kfd").exists()
                or any(Path("/dev").glob("nvidia[0-9]*")))


def device_name(name: str = "auto") -> str:
    """``resolve_device``'s answer as a name ("cpu", "cuda", "mps", "cuda:1"), without importing
    torch where ``auto`` can only mean the CPU."""
    if str(name) == "cpu" or (str(name) == "auto" and no_gpu_here()):
        return "cpu"
    return str(resolve_device(name))


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
