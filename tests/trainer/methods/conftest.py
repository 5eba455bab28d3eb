"""A small synthetic genre collection shared by the audio-method tests, and its features.

Six styles x 10 clips of 4 s at 22050 Hz, cut into one 4-s window each, split by song 5/2/3 per
style (30 train, 12 validation, 18 test songs). Features are computed once per pipeline and
session, with the disk cache in a temporary folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from trainer.data.audio_source import AudioSource, open_audio_source
from trainer.data.splits import Split
from trainer.data.synthetic import generate
from trainer.methods import MethodSpec
from trainer.methods.base import Arrays
from trainer.runtime.audio import WindowSpec
from trainer.runtime.features import FeaturePipeline, make

CLIPS_PER_STYLE = 10
CLIP_S = 4.0
WINDOW = WindowSpec(length_s=CLIP_S, hop_s=CLIP_S)
PER_STYLE = (5, 2, 3)  # train, validation, test songs per style


@pytest.fixture(autouse=True)
def _tiny_networks_one_thread(one_torch_thread):
    """See ``tests/trainer/conftest.py``."""


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("synthetic"), n_per_class=CLIPS_PER_STYLE, duration_s=CLIP_S, seed=0)


@pytest.fixture(scope="session")
def source(synthetic_dir, tmp_path_factory) -> AudioSource:
    return open_audio_source(synthetic_dir, window=WINDOW, cache_dir=tmp_path_factory.mktemp("feature-cache"))


@pytest.fixture(scope="session")
def split(source) -> Split:
    parts: tuple[list[str], list[str], list[str]] = ([], [], [])
    for genre in source.labels:
        songs = sorted(source.songs[source.genres == genre].tolist())
        start = 0
        for part, count in zip(parts, PER_STYLE):
            part += songs[start : start + count]
            start += count
    return Split("synthetic", *(tuple(p) for p in parts), protocol="5/2/3 songs per style")


@dataclass
class Parts:
    pipeline: FeaturePipeline
    train: Arrays
    valid: Arrays
    test: Arrays


class FeatureMemo:
    """Train/valid/test arrays per pipeline, computed once."""

    def __init__(self, source: AudioSource, split: Split) -> None:
        self.source, self.split = source, split
        self._parts: dict[str, Parts] = {}

    def __call__(self, spec: MethodSpec) -> Parts:
        pipeline = make(spec.pipeline, **spec.pipeline_params)
        key = repr(pipeline.describe())
        if key not in self._parts:
            labels = self.source.labels
            self._parts[key] = Parts(pipeline, *(self.source.arrays(list(songs), pipeline, labels)
                                                 for songs in (self.split.train, self.split.valid, self.split.test)))
        return self._parts[key]


@pytest.fixture(scope="session")
def features(source, split) -> FeatureMemo:
    return FeatureMemo(source, split)


def accuracy(proba: np.ndarray, y: np.ndarray) -> float:
    return float((proba.argmax(axis=1) == y).mean())
