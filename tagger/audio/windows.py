"""Cut a decoded track into fixed-length analysis windows.

The models were trained on 30-second GTZAN clips, so a track is judged window by window and the
window probabilities are averaged. Rules, all recorded on the result:

* a track shorter than one window is zero-padded to one window (``padded`` is true);
* ``tail="end"`` (default) adds one last window that ends exactly at the track's end when the
  leftover after the last full hop is at least ``min_tail_s`` — real audio only, overlapping the
  window before it; ``"drop"`` ignores the leftover; ``"pad"`` zero-pads it to a full window;
* ``max_windows`` keeps at most K windows spread evenly over the track (first and last included).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

TailRule = Literal["end", "drop", "pad"]


@dataclass(frozen=True)
class WindowSpec:
    length_s: float = 30.0
    hop_s: float = 30.0
    tail: TailRule = "end"
    min_tail_s: float = 10.0
    max_windows: int | None = None

    def __post_init__(self) -> None:
        if self.length_s <= 0 or self.hop_s <= 0:
            raise ValueError("window length and hop must be positive")
        if self.tail not in ("end", "drop", "pad"):
            raise ValueError(f"unknown tail rule {self.tail!r}")
        if self.max_windows is not None and self.max_windows < 1:
            raise ValueError("max_windows must be at least 1")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Windows:
    """``frames`` is (n, length) float32; ``starts_s`` the start time of each window in seconds."""

    frames: np.ndarray
    starts_s: np.ndarray
    padded: bool
    sample_rate: int

    def __len__(self) -> int:
        return len(self.frames)


def _pad(x: np.ndarray, length: int) -> np.ndarray:
    out = np.zeros(length, dtype=np.float32)
    out[: len(x)] = x
    return out


def cut_windows(samples: np.ndarray, sample_rate: int, spec: WindowSpec = WindowSpec()) -> Windows:
    """Return the windows of a mono track according to ``spec``."""
    length = int(round(spec.length_s * sample_rate))
    hop = int(round(spec.hop_s * sample_rate))
    n = len(samples)
    if n < length:
        frames = _pad(samples, length)[None, :]
        return Windows(frames, np.zeros(1), padded=True, sample_rate=sample_rate)
    starts = list(range(0, n - length + 1, hop))
    tail_start = starts[-1] + hop
    leftover = n - tail_start
    padded = False
    extra: np.ndarray | None = None
    if leftover > 0:
        if spec.tail == "end" and leftover >= spec.min_tail_s * sample_rate:
            starts.append(n - length)
        elif spec.tail == "pad":
            extra = _pad(samples[tail_start:], length)
            padded = True
    frames = [samples[s : s + length] for s in starts]
    start_times = [s / sample_rate for s in starts]
    if extra is not None:
        frames.append(extra)
        start_times.append(tail_start / sample_rate)
    if spec.max_windows is not None and len(frames) > spec.max_windows:
        keep = np.unique(np.linspace(0, len(frames) - 1, spec.max_windows).round().astype(int))
        frames = [frames[i] for i in keep]
        start_times = [start_times[i] for i in keep]
    return Windows(
        np.stack(frames).astype(np.float32, copy=False),
        np.asarray(start_times, dtype=np.float64),
        padded=padded,
        sample_rate=sample_rate,
    )
