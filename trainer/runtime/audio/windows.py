"""Cut a decoded track into fixed-length analysis windows.

The models were trained on 30-second GTZAN clips, so a track is judged window by window and the
window probabilities are averaged. Rules, all recorded on the result:

* a track shorter than one window is zero-padded to one window (``padded`` is true);
* ``tail="end"`` (default) adds one last window that ends exactly at the track's end when the
  leftover after the last full hop is at least ``min_tail_s`` — real audio only, overlapping the
  window before it; ``"drop"`` ignores the leftover; ``"pad"`` zero-pads it to a full window;
* ``max_windows`` keeps at most K windows spread evenly over the track (first and last included).
  The tagger caps it at ``DEFAULT_MAX_WINDOWS`` (20: ten minutes of 30-s windows) unless told
  otherwise, so a track of any length costs at most 20 windows of memory and work (about 53 MB
  of raw samples at 22,050 Hz); ``None`` (the trainer's default) takes every window.

Windows are planned from the track's length alone (``plan_windows``), so a decoder can keep only
the samples the windows use instead of the whole track.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

TailRule = Literal["end", "drop", "pad"]
DEFAULT_MAX_WINDOWS = 20


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
    """``frames`` is (n, length) float32; ``starts_s`` the start time of each window in seconds.

    ``padded``: some window is zero-padded; ``audio_fraction``: the share of all window samples
    that are real audio (1.0 unless padded), what a confidence computed on them rests on.
    """

    frames: np.ndarray
    starts_s: np.ndarray
    padded: bool
    sample_rate: int
    audio_fraction: float = 1.0

    def __len__(self) -> int:
        return len(self.frames)


def plan_windows(n: int, sample_rate: int, spec: WindowSpec = WindowSpec()) -> list[tuple[int, int]]:
    """The ``(start, stop)`` sample ranges of a track of ``n`` samples that the windows hold; a
    range shorter than the window length is zero-padded to it."""
    length = int(round(spec.length_s * sample_rate))
    hop = int(round(spec.hop_s * sample_rate))
    if n < length:
        return [(0, n)]
    ranges = [(s, s + length) for s in range(0, n - length + 1, hop)]
    tail_start = ranges[-1][0] + hop
    if tail_start < n:
        if spec.tail == "end" and n - tail_start >= spec.min_tail_s * sample_rate:
            ranges.append((n - length, n))
        elif spec.tail == "pad":
            ranges.append((tail_start, n))
    if spec.max_windows is not None and len(ranges) > spec.max_windows:
        keep = np.unique(np.linspace(0, len(ranges) - 1, spec.max_windows).round().astype(int))
        ranges = [ranges[i] for i in keep]
    return ranges


def windows_from(pieces: list[np.ndarray], ranges: list[tuple[int, int]], sample_rate: int,
                 length: int) -> Windows:
    """Windows from the samples of each planned range (``pieces[i]`` holds ``ranges[i]``)."""
    frames = np.zeros((len(ranges), length), dtype=np.float32)
    for frame, piece in zip(frames, pieces):
        frame[: len(piece)] = piece
    real = sum(stop - start for start, stop in ranges)
    return Windows(frames, np.asarray([start / sample_rate for start, _ in ranges], dtype=np.float64),
                   padded=real < len(ranges) * length, sample_rate=sample_rate,
                   audio_fraction=real / (len(ranges) * length))


def cut_windows(samples: np.ndarray, sample_rate: int, spec: WindowSpec = WindowSpec()) -> Windows:
    """Return the windows of a mono track according to ``spec``."""
    ranges = plan_windows(len(samples), sample_rate, spec)
    return windows_from([samples[start:stop] for start, stop in ranges], ranges, sample_rate,
                        int(round(spec.length_s * sample_rate)))
