"""An audio folder as a song source for ``trainer.run``: any pipeline, windows, cache, augmentation.

``AudioSource`` wraps an ``AudioDataset`` (GTZAN layout or one folder per genre) and produces
method inputs for a list of songs through any feature pipeline: songs are decoded at the
pipeline's rate, cut into windows exactly as the tagger cuts them (``trainer.runtime.audio.cut_windows``),
featurised with the disk cache, and returned with one row per window naming its song. Training
rows get seed 004's six presentations (original, four time stretches, a 5-s shift) when the
caller asks for augmentation.

The window is the tagger's 30 s unless the data is shorter: where clips are shorter than 30 s
(GTZAN's 2-3 s excerpts), ``fitted_window`` makes it the longest such clip rounded up to a whole
second, so an excerpt is padded by under a second instead of being 90% zeros, and longer files in
the same data are cut into windows of that length. The bundle records the window used, so the
tagger cuts tracks the same way.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainer.data.audio import AudioDataset, featurize
from trainer.data.augment import ORIGINAL, seed_004_variants
from trainer.data.feature_cache import FeatureCache
from trainer.methods.base import Arrays
from trainer.runtime.audio import WindowSpec
from trainer.runtime.features import FeaturePipeline


@dataclass
class AudioSource:
    """Songs of an audio dataset with their genres; ``arrays`` featurises any subset of them.

    ``window`` is how songs are cut (the bundle records it, so the tagger cuts the same way);
    ``cache`` stores features per (file, pipeline, window, variant); ``failed`` collects
    (path, reason) for songs that passed the folder scan but failed to decode later.
    """

    dataset: AudioDataset
    window: WindowSpec = field(default_factory=WindowSpec)
    cache: FeatureCache | None = None
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.source = self.dataset.source
        self.songs = np.asarray(self.dataset.songs)
        genre_of = {item.song_id: item.label for item in self.dataset.items}
        self.genres = np.asarray([genre_of[s] for s in self.songs.tolist()])

    @property
    def skipped(self) -> list[tuple[Path, str]]:
        """(path, reason) for every unreadable file: found when scanning the folder or later."""
        return [*self.dataset.skipped, *self.failed]

    @property
    def labels(self) -> list[str]:
        return sorted(set(self.genres.tolist()))

    def feeds(self, pipeline_name: str) -> bool:
        """Audio feeds every pipeline, the GTZAN-CSV one included (it computes the columns)."""
        return True

    def with_window(self, window: WindowSpec) -> AudioSource:
        """The same songs, cache and failure list, cut by another window (e.g. seed 002's segments)."""
        return dataclasses.replace(self, window=window)

    def arrays(self, songs: Sequence[str], pipeline: FeaturePipeline, labels: list[str],
               augment: bool = False) -> Arrays:
        """Rows for ``songs``: x (windows, ...) from ``pipeline``, integer labels in ``labels``
        order, and each row's song id. ``augment`` adds seed 004's five extra presentations of
        every song (pass it for training rows only); songs that fail to decode are skipped and
        added to ``failed``."""
        songs = list(songs)
        if not songs:
            return Arrays(np.zeros((0,), dtype=np.float32), np.zeros(0, dtype=np.int64), np.asarray([], dtype=str))
        variants = seed_004_variants() if augment else (ORIGINAL,)
        features = featurize(self.dataset.subset(songs), pipeline, self.window, self.cache, variants)
        self.failed += [s for s in features.skipped if s not in self.failed]
        index = {label: i for i, label in enumerate(labels)}
        return Arrays(features.x, np.asarray([index[g] for g in features.labels], dtype=np.int64), features.song_ids)


def fitted_window(dataset: AudioDataset, seconds: float | None = None) -> WindowSpec:
    """Windows of ``seconds`` when given; else the tagger's window, shortened to the longest clip
    under it rounded up to a whole second where the data has clips shorter than a window."""
    if seconds is not None:
        if seconds <= 0:
            raise ValueError(f"the window must be positive, got {seconds:g} s")
        return WindowSpec(length_s=seconds, hop_s=seconds)
    default = WindowSpec()
    short = [item.seconds for item in dataset.items if item.seconds is not None and item.seconds < default.length_s]
    if not short:
        return default
    length = float(max(1, math.ceil(max(short))))
    return WindowSpec(length_s=length, hop_s=length)


def open_audio_source(path: Path | str | Sequence[Path | str], window: WindowSpec | float | None = None,
                      cache_dir: Path | str | None = None, use_cache: bool = True) -> AudioSource:
    """An ``AudioSource`` over the folder at ``path`` (or several folders as one dataset), cut by
    ``window`` (a spec, a length in seconds, or None for ``fitted_window``); features cached under
    ``cache_dir`` (default: the user's cache folder) unless ``use_cache`` is false."""
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    dataset = AudioDataset.combine([AudioDataset.from_folder(p) for p in paths])
    spec = window if isinstance(window, WindowSpec) else fitted_window(dataset, window)
    cache = FeatureCache(cache_dir) if use_cache else None
    return AudioSource(dataset, spec, cache)
