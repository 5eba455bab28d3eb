"""Classify tracks: decode and window in worker processes, run the model on batches of windows.

The bundle is loaded once per run. Workers decode, cut windows and, on the CPU, compute the
bundle's features too (that is where the cost is); on a GPU they only decode, and the main process
computes features and runs the model on batches of up to ``BATCH_WINDOWS`` windows gathered across
tracks; a batch is finished early whenever the next track is not ready yet, so no finished track
waits for others (the window fills its rows as tracks finish). Results come back in input order
while at most ``2 x workers`` tracks are in flight, and each track is decoded a block at a time keeping only the windows it is judged on (at most
``WindowSpec.max_windows``), so memory stays bounded however large the library or long the track.
Workers end with the process that started them, even when it is killed outright.

A worker costs seconds to start (it imports the model's libraries), so workers are started only
when the work repays them (``worker_count``): a single file is classified in this process, and a
pool, once started, is kept for the classifier's later runs until ``close``.

Features are computed by the fastest engine equivalent to the one the bundle was trained with
(``FeaturePipeline.fastest``: for the GTZAN set, the torch engine in place of librosa) unless the
caller asks for the exact engine.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tagger.genres import DEFAULT_MAX_GENRES, NamedOutputs, Vocabulary, pick
from trainer.runtime.audio import (
    DEFAULT_MAX_WINDOWS,
    UnreadableAudio,
    WindowChoice,
    WindowSpec,
    decode_windows,
)
from trainer.runtime.resources import DEFAULT_BUNDLE

if TYPE_CHECKING:
    from trainer.runtime.bundle import LoadedBundle


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
    audio_fraction: float = 1.0  # share of the analysed samples that are real audio, not padding
    truncated: bool = False  # the file ends before its header says: judged on what decodes
    #: a multi-label model's descriptors (eras, moods, voices: shown, never written) and their scores
    descriptors: list[str] = field(default_factory=list)
    descriptor_probs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    threshold: float | None = None  # a multi-label model's genre threshold; None for a distribution

    @property
    def n_windows(self) -> int:
        return len(self.window_probs)

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(self.probs)[::-1][:k]
        return [(self.labels[i], float(self.probs[i])) for i in order]

    def genres(self, max_genres: int = DEFAULT_MAX_GENRES) -> list[str]:
        """The track's genres, most probable first (see ``tagger.genres.pick``)."""
        return pick(self.top(len(self.labels)), self.threshold, max_genres)

    def top_descriptors(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(self.descriptor_probs)[::-1][:k]
        return [(self.descriptors[i], float(self.descriptor_probs[i])) for i in order]


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
    audio_fraction: float
    truncated: bool


_worker_pipelines: dict[str, object] = {}
#: Tracks that repay starting one more worker by default: a worker takes seconds to import the
#: model's libraries, about what it then saves on this many tracks of a few windows each.
TRACKS_PER_WORKER = 8
# Windows per model call: 64 raw 30-s windows are about 170 MB, a full batch for the GPU engine.
BATCH_WINDOWS = 64
# Marks the moment the next track is not ready yet: the batch gathered so far is finished then.
_WAITING = object()


def _prepare(path: Path, sample_rate: int, window: WindowSpec, pipeline: dict | None) -> _Prepared | TrackFailure:
    """Decode and window one track; with ``pipeline``, also compute its features (in the worker)."""
    try:
        decoded = decode_windows(path, sample_rate, window)
    except UnreadableAudio as exc:
        return TrackFailure(Path(path), exc.reason)
    windows = decoded.windows
    inputs = windows.frames
    if pipeline is not None:
        from trainer.runtime.features import make

        key = repr(sorted(pipeline["params"].items())) + pipeline["name"]
        if key not in _worker_pipelines:
            _worker_pipelines[key] = make(pipeline["name"], **pipeline["params"])
        try:
            inputs = _worker_pipelines[key](inputs)
        except Exception as exc:  # a feature failure on one file must not stop the run
            return TrackFailure(Path(path), f"feature extraction failed: {exc}")
    return _Prepared(Path(path), inputs, windows.starts_s, windows.padded, decoded.duration_s,
                     windows.audio_fraction, decoded.truncated)


def caveat(padded: bool, audio_fraction: float, truncated: bool, duration_s: float | None) -> str | None:
    """Why a prediction's confidence is not to be trusted as it stands, or ``None``."""
    parts = []
    if truncated:
        parts.append("the file is truncated" + (f" ({duration_s:.1f} s decode)" if duration_s is not None else ""))
    if padded:
        parts.append(f"rests on padding: {audio_fraction:.0%} of what was judged is real audio")
    return "; ".join(parts) or None


def worker_count(requested: int | None, tracks: int, features_in_workers: bool, cores: int | None = None) -> int:
    """Worker processes for ``tracks`` tracks: none for a single track, never more than tracks,
    and ``requested`` at most. By default one per ``TRACKS_PER_WORKER`` tracks up to one per
    core, and none rather than one when the workers compute features (a lone worker would only
    move the same serial work to another process, after starting it)."""
    if tracks <= 1:
        return 0
    if requested is not None:
        return max(0, min(requested, tracks))
    count = min(cores or os.cpu_count() or 1, tracks // TRACKS_PER_WORKER)
    return 0 if count == 1 and features_in_workers else count


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _start_worker(parent: int) -> None:
    """End with ``parent`` however it ends (a killed parent cannot shut its pool down, and each
    worker holds a gigabyte), then use one core: numeric libraries must not each start a thread
    per core. Nothing the bundle may not need is imported here: the libraries loaded already are
    limited now, those its pipeline imports later read ``OMP_NUM_THREADS``."""
    if sys.platform.startswith("linux"):  # the kernel kills the worker the moment the parent dies
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


class Classifier(NamedOutputs):
    """A loaded model bundle plus the windowing rule used to feed it."""

    def __init__(self, bundle: LoadedBundle, window: WindowSpec, device: str = "cpu", pipeline=None) -> None:
        self.bundle = bundle
        # a window spec without a cap gets the tagger's: a track of any length is judged on at most
        # DEFAULT_MAX_WINDOWS windows spread over it, so memory and time per track stay bounded
        self.window = window if window.max_windows is not None else replace(window, max_windows=DEFAULT_MAX_WINDOWS)
        self.device = device
        self.pipeline = pipeline or bundle.pipeline
        # On the CPU each worker computes its tracks' features; on a GPU the main process does, batched.
        self.features_in_workers = device == "cpu"
        self.vocabulary = Vocabulary.of(bundle.labels, bundle.manifest.vocabulary)
        self._pool: ProcessPoolExecutor | None = None
        self._pool_size = 0

    @classmethod
    def load(cls, bundle_path: Path | str | None = None, device: str = "auto",
             window: WindowSpec | WindowChoice | None = None, exact_features: bool = False,
             patches: int | None = None) -> Classifier:
        """Load ``bundle_path`` (default: the shipped model) for ``device`` (auto, cpu, cuda, mps).

        ``window``: a ``WindowSpec`` replaces the bundle's own window specification (length, hop
        and tail rules); a ``WindowChoice`` changes only what the user chose of it.
        ``exact_features`` keeps the feature engine the bundle was trained with instead of its
        fastest validated equivalent. ``patches``: how many of each window's 3-s patches a
        MusiCNN tagger judges (None: the bundle's own policy); other models judge whole windows.
        """
        from trainer.runtime import bundle as bundles
        from trainer.runtime.device import device_name

        resolved = device_name(device)
        loaded = bundles.load(bundle_path or DEFAULT_BUNDLE, device=resolved)
        if hasattr(loaded.pipeline, "device"):
            loaded.pipeline.device = resolved
        pipeline = loaded.pipeline if exact_features else loaded.pipeline.fastest(resolved)
        if patches is not None and hasattr(pipeline, "patches"):
            pipeline.patches = patches
        own = loaded.manifest.window
        spec = window.applied_to(own) if isinstance(window, WindowChoice) else window or own
        return cls(loaded, spec, resolved, pipeline)

    @property
    def bundle_id(self) -> str:
        return self.bundle.id

    @property
    def sample_rate(self) -> int:
        return self.bundle.sample_rate

    @property
    def features(self) -> dict:
        """The feature pipeline in use (name and parameters, e.g. the engine)."""
        return self.pipeline.describe()

    def classify_windows(self, windows: np.ndarray) -> np.ndarray:
        """(n, labels) probabilities of the bundle's own labels for raw windows at its sample rate."""
        return self.bundle.model.predict_proba(self.pipeline(windows))

    def _finish(self, items: list[_Prepared | TrackFailure], features_done: bool) -> list[TrackResult | TrackFailure]:
        """One model call for all windows of ``items`` (features too, unless the workers made them)."""
        prepared = [item for item in items if isinstance(item, _Prepared)]
        if not prepared:
            return items
        inputs = np.concatenate([p.inputs for p in prepared])
        try:
            probs = self.bundle.model.predict_proba(inputs) if features_done else self.classify_windows(inputs)
        except Exception as exc:  # a feature failure on one file must not stop the run: retry one by one
            if len(prepared) > 1:
                return [result for item in items for result in self._finish([item], features_done)]
            return [item if isinstance(item, TrackFailure) else TrackFailure(item.path, f"classification failed: {exc}")
                    for item in items]
        genre_probs, descriptor_probs = self.vocabulary.split(probs)
        cuts = np.cumsum([len(p.inputs) for p in prepared])[:-1]
        per_track = iter(zip(np.split(genre_probs, cuts), np.split(descriptor_probs, cuts)))
        return [item if isinstance(item, TrackFailure) else
                TrackResult(item.path, self.labels, (windows := next(per_track))[0].mean(axis=0), windows[0],
                            item.starts_s, item.padded, item.duration_s, item.audio_fraction, item.truncated,
                            self.descriptors, windows[1].mean(axis=0), self.threshold)
                for item in items]

    def classify_paths(self, paths: Iterable[Path | str], workers: int | None = None) -> Iterator[TrackResult | TrackFailure]:
        """Classify each path, yielding results in input order.

        ``workers``: at most this many decoding processes (default: as ``worker_count`` judges the
        work worth, at most one per core; 0 decodes in this process). Features are computed in the
        workers on the CPU, and here, batched, on a GPU.
        """
        paths = [Path(p) for p in paths]
        features_in_workers = self.features_in_workers
        workers = worker_count(workers, len(paths), features_in_workers)
        pipeline = self.pipeline.describe() if features_in_workers else None
        batch: list[_Prepared | TrackFailure] = []
        for item in self._prepared(paths, workers, pipeline):
            if item is _WAITING:  # nothing more is ready: finish what is here rather than sit on it
                if batch:
                    yield from self._finish(batch, features_in_workers)
                    batch = []
                continue
            batch.append(item)
            if sum(len(i.inputs) for i in batch if isinstance(i, _Prepared)) >= BATCH_WINDOWS:
                yield from self._finish(batch, features_in_workers)
                batch = []
        yield from self._finish(batch, features_in_workers)

    def _pool_for(self, workers: int) -> ProcessPoolExecutor:
        """The worker pool, started on first need and kept for later runs (a run that needs more
        workers than it has replaces it)."""
        if self._pool is None or self._pool_size < workers:
            self.close()
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                                             initargs=(os.getpid(),))
            self._pool_size = workers
        return self._pool

    def close(self) -> None:
        """End the worker processes; a later run starts new ones."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool, self._pool_size = None, 0

    def _prepared(self, paths: list[Path], workers: int,
                  pipeline: dict | None) -> Iterator[_Prepared | TrackFailure | object]:
        """Decoded, windowed (and with ``pipeline``, featurised) tracks in input order, with
        ``_WAITING`` before each one that is not ready yet, so finished tracks are not held back."""
        if workers == 0:
            for path in paths:
                yield _WAITING
                yield _prepare(path, self.sample_rate, self.window, pipeline)
            return

        def collect(path: Path, future: Future) -> _Prepared | TrackFailure:
            try:
                return future.result()
            except Exception as exc:  # a decoder that crashes its worker fails that file only
                return TrackFailure(path, f"decoding crashed: {exc}")

        pool = self._pool_for(workers)
        pending: deque[tuple[Path, Future]] = deque()
        try:
            for path in paths:
                try:
                    pending.append((path, pool.submit(_prepare, path, self.sample_rate, self.window, pipeline)))
                except BrokenProcessPool:  # a crashed worker broke the pool: start a new one for the rest
                    self.close()
                    pool = self._pool_for(workers)
                    pending.append((path, pool.submit(_prepare, path, self.sample_rate, self.window, pipeline)))
                if len(pending) >= 2 * workers:
                    if not pending[0][1].done():
                        yield _WAITING
                    yield collect(*pending.popleft())
            while pending:
                if not pending[0][1].done():
                    yield _WAITING
                yield collect(*pending.popleft())
        finally:  # stopped early: drop the tracks not started, keep the workers for the next run
            for _, future in pending:
                future.cancel()
