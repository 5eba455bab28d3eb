"""Classify tracks: decode and window in worker processes, run the model once per track batch.

The bundle is loaded once per run. Workers decode, cut windows and, on the CPU, compute the
bundle's features too (that is where the cost is); the main process runs the model. Results come
back in input order while at most ``2 x workers`` tracks are in flight, so memory stays bounded
however large the library is.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger.audio import UnreadableAudio, WindowSpec, cut_windows, decode
from tagger.paths import DEFAULT_BUNDLE


@dataclass(frozen=True)
class TrackResult:
    """A track's genre distribution (mean of its windows) and the per-window detail behind it."""

    path: Path
    labels: list[str]
    probs: np.ndarray
    window_probs: np.ndarray
    window_starts_s: np.ndarray
    padded: bool
    duration_s: float

    @property
    def n_windows(self) -> int:
        return len(self.window_probs)

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(self.probs)[::-1][:k]
        return [(self.labels[i], float(self.probs[i])) for i in order]


@dataclass(frozen=True)
class TrackFailure:
    path: Path
    reason: str


@dataclass(frozen=True)
class _Prepared:
    path: Path
    inputs: np.ndarray
    starts_s: np.ndarray
    padded: bool
    duration_s: float


_worker_pipelines: dict[str, object] = {}


def _prepare(path: Path, sample_rate: int, window: WindowSpec, pipeline: dict | None) -> _Prepared | TrackFailure:
    """Decode and window one track; with ``pipeline``, also compute its features (in the worker)."""
    try:
        audio = decode(path, sample_rate)
    except UnreadableAudio as exc:
        return TrackFailure(Path(path), exc.reason)
    windows = cut_windows(audio.samples, sample_rate, window)
    inputs = windows.frames
    if pipeline is not None:
        from trainer.features import make

        key = repr(sorted(pipeline["params"].items())) + pipeline["name"]
        if key not in _worker_pipelines:
            _worker_pipelines[key] = make(pipeline["name"], **pipeline["params"])
        try:
            inputs = _worker_pipelines[key](inputs)
        except Exception as exc:  # a feature failure on one file must not stop the run
            return TrackFailure(Path(path), f"feature extraction failed: {exc}")
    return _Prepared(Path(path), inputs, windows.starts_s, windows.padded, audio.duration_s)


def _limit_threads() -> None:
    """One core per worker: numeric libraries must not each start a thread per core."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


class Classifier:
    """A loaded model bundle plus the windowing rule used to feed it."""

    def __init__(self, bundle, window: WindowSpec, device: str = "cpu") -> None:
        self.bundle = bundle
        self.window = window
        self.device = device

    @classmethod
    def load(cls, bundle_path: Path | str | None = None, device: str = "auto",
             window: WindowSpec | None = None) -> Classifier:
        """Load ``bundle_path`` (default: the shipped model) for ``device`` (auto, cpu, cuda, mps)."""
        from trainer import bundle as bundles
        from trainer.fit import resolve_device

        resolved = str(resolve_device(device))
        loaded = bundles.load(bundle_path or DEFAULT_BUNDLE, device=resolved)
        if hasattr(loaded.pipeline, "device"):
            loaded.pipeline.device = resolved
        spec = window or WindowSpec(length_s=float(loaded.meta["window"]["length_s"]),
                                    hop_s=float(loaded.meta["window"]["hop_s"]))
        return cls(loaded, spec, resolved)

    @property
    def bundle_id(self) -> str:
        return self.bundle.id

    @property
    def labels(self) -> list[str]:
        return self.bundle.labels

    @property
    def sample_rate(self) -> int:
        return self.bundle.sample_rate

    def classify_windows(self, windows: np.ndarray) -> np.ndarray:
        """(n, C) probabilities for raw windows at the bundle's sample rate."""
        return self.bundle.predict_proba(windows)

    def _result(self, prepared: _Prepared, features_done: bool) -> TrackResult:
        method = self.bundle.method
        window_probs = (method.predict_proba(prepared.inputs) if features_done
                        else self.bundle.predict_proba(prepared.inputs))
        return TrackResult(prepared.path, self.labels, window_probs.mean(axis=0), window_probs,
                           prepared.starts_s, prepared.padded, prepared.duration_s)

    def classify_paths(self, paths: Iterable[Path | str], workers: int | None = None) -> Iterator[TrackResult | TrackFailure]:
        """Classify each path, yielding results in input order.

        ``workers``: decoding processes (default one per core; 0 decodes in this process).
        Features are computed in the workers on the CPU, and here, batched, on a GPU.
        """
        if workers is None:
            workers = os.cpu_count() or 1
        features_in_workers = self.device == "cpu"
        pipeline = self.bundle.pipeline.describe() if features_in_workers else None
        paths = (Path(p) for p in paths)

        def finish(item: _Prepared | TrackFailure) -> TrackResult | TrackFailure:
            return item if isinstance(item, TrackFailure) else self._result(item, features_in_workers)

        def collect(path: Path, future: Future) -> TrackResult | TrackFailure:
            try:
                return finish(future.result())
            except Exception as exc:  # a decoder that crashes its worker fails that file only
                return TrackFailure(path, f"decoding crashed: {exc}")

        if workers == 0:
            for path in paths:
                yield finish(_prepare(path, self.sample_rate, self.window, pipeline))
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_limit_threads) as pool:
            pending: deque[tuple[Path, Future]] = deque()
            for path in paths:
                pending.append((path, pool.submit(_prepare, path, self.sample_rate, self.window, pipeline)))
                if len(pending) >= 2 * workers:
                    yield collect(*pending.popleft())
            while pending:
                yield collect(*pending.popleft())
