"""Cut a decoded track into fixed-length analysis windows.

The models were trained on 30-second GTZAN clips, so a track is judged window by window and the
window probabilities are averaged. Rules, all recorded on the result:

* a track shorter than one window is zero-padded to one window (``padded`` is true);
* ``tail="end"`` (default) adds one last window that ends exactly at the track's end when the
  leftover after the last full hop is at least ``min_tail_s`` — real audio only, overlapping the
  window before it; ``"drop"`` ignores the leftover; ``"pad"`` zero-pads it to a full window;
* ``max_windows`` keeps at most K windows spread evenly over the track (first and last included),
  where the music is: a chosen window that is silent (RMS below ``SILENCE_RMS``, -60 dBFS: a
  silent intro, the gap before a hidden track) gives way to the nearest window between its chosen
  neighbours that is not, and is left out when there is none (one window always stays). The
  tagger caps it at ``DEFAULT_MAX_WINDOWS`` unless told otherwise, so a track of any length costs
  at most that many windows of memory and work; ``None`` (the trainer's default) takes every
  window, silent or not.

Windows are planned from the track's length alone (``plan_windows``), so a decoder can read only
the samples the windows use instead of the whole track (``choose_windows`` asks for each).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np

TailRule = Literal["end", "drop", "pad"]
DEFAULT_MAX_WINDOWS = 3
#: A window quieter than this RMS (-60 dBFS of full scale) holds nothing to judge.
SILENCE_RMS = 1e-3


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
class WindowChoice:
    """What a user changes of a model's own window rule; each None keeps the model's. A new length
    brings its hop along (windows side by side) unless a hop is chosen too. The command line's
    ``--window/--hop/--max-windows`` and the settings page both give one of these, so the same
    choice means the same windows whichever way it was made."""

    length_s: float | None = None
    hop_s: float | None = None
    max_windows: int | None = None

    def applied_to(self, own: WindowSpec) -> WindowSpec:
        length = self.length_s or own.length_s
        hop = self.hop_s or (self.length_s or own.hop_s)
        return replace(own, length_s=length, hop_s=hop, max_windows=self.max_windows or own.max_windows)


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


def _every_window(n: int, sample_rate: int, spec: WindowSpec) -> list[tuple[int, int]]:
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
    return ranges


def _spread(count: int, cap: int | None) -> list[int]:
    """Indices of at most ``cap`` of ``count`` windows, spread evenly, first and last included."""
    if cap is None or count <= cap:
        return list(range(count))
    return np.unique(np.linspace(0, count - 1, cap).round().astype(int)).tolist()


def plan_windows(n: int, sample_rate: int, spec: WindowSpec = WindowSpec()) -> list[tuple[int, int]]:
    """The ``(start, stop)`` sample ranges of a track of ``n`` samples that the windows hold
    before any gives way to silence; a range shorter than the window length is zero-padded to it."""
    ranges = _every_window(n, sample_rate, spec)
    return [ranges[i] for i in _spread(len(ranges), spec.max_windows)]


def is_silent(samples: np.ndarray) -> bool:
    return not len(samples) or float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) < SILENCE_RMS


def choose_windows(n: int, sample_rate: int, spec: WindowSpec,
                   read: Callable[[tuple[int, int]], np.ndarray]) -> tuple[list[tuple[int, int]], list[np.ndarray]]:
    """The windows of a track of ``n`` samples and their samples, ``read(range)`` giving a range's
    samples (each range is asked for once). Under a cap, a silent window gives way to the nearest
    window with sound between its chosen neighbours, or is left out (see the module's rules)."""
    ranges = _every_window(n, sample_rate, spec)
    chosen = _spread(len(ranges), spec.max_windows)
    if spec.max_windows is None:
        return [ranges[i] for i in chosen], [read(ranges[i]) for i in chosen]
    kept: dict[int, np.ndarray] = {}
    for k, i in enumerate(chosen):
        low = chosen[k - 1] if k else -1
        high = chosen[k + 1] if k + 1 < len(chosen) else len(ranges)
        nearest = sorted(range(low + 1, high), key=lambda j: (abs(j - i), j))  # i itself first
        for j in nearest:
            samples = read(ranges[j])
            if not is_silent(samples):
                kept[j] = samples
                break
    if not kept:  # silence throughout: judge the first window, which says it rests on little
        kept[chosen[0]] = read(ranges[chosen[0]])
    order = sorted(kept)
    return [ranges[j] for j in order], [kept[j] for j in order]


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
    ranges, pieces = choose_windows(len(samples), sample_rate, spec, lambda r: samples[r[0]:r[1]])
    return windows_from(pieces, ranges, sample_rate, int(round(spec.length_s * sample_rate)))
