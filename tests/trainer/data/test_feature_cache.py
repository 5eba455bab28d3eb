"""The feature cache: keyed by file content and pipeline parameters, safe to read."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tests.support import tone, write_audio
from trainer.data.feature_cache import FeatureCache, default_cache_dir
from trainer.runtime.features import make


def _counting(result: np.ndarray) -> tuple[list[int], Callable[[], np.ndarray]]:
    calls: list[int] = []

    def compute() -> np.ndarray:
        calls.append(1)
        return result

    return calls, compute


def test_hits_return_identical_arrays_and_a_changed_parameter_misses(tmp_path):
    audio = write_audio(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    cache = FeatureCache(tmp_path / "cache")
    pipeline = make("logmel")
    features = pipeline(np.zeros((1, 2205), np.float32))
    calls, compute = _counting(features)
    first = cache.get_or_compute(audio, pipeline, compute)
    second = cache.get_or_compute(audio, pipeline, compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(first, second)
    assert second.dtype == features.dtype and second.shape == features.shape
    cache.get_or_compute(audio, make("logmel", n_mels=40), compute)
    cache.get_or_compute(audio, pipeline, compute, context={"variant": "stretch-0.81"})
    assert len(calls) == 3


def test_keyed_by_content_not_by_name(tmp_path):
    audio = write_audio(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    cache, pipeline = FeatureCache(tmp_path / "cache"), make("fft")
    key = cache.key(audio, pipeline)
    moved = audio.rename(tmp_path / "moved.wav")
    assert cache.key(moved, pipeline) == key
    write_audio(moved, tone(0.5, 22050, freq=330.0), 22050)
    assert cache.key(moved, pipeline) != key


def test_a_damaged_entry_is_recomputed(tmp_path):
    audio = write_audio(tmp_path / "a.wav", tone(0.5, 22050), 22050)
    cache, pipeline = FeatureCache(tmp_path / "cache"), make("fft")
    calls, compute = _counting(np.ones(3))
    cache.get_or_compute(audio, pipeline, compute)
    [entry] = (tmp_path / "cache").rglob("*.npy")
    entry.write_bytes(b"garbage")
    np.testing.assert_array_equal(cache.get_or_compute(audio, pipeline, compute), np.ones(3))
    assert len(calls) == 2
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_default_folder_is_the_user_cache():
    assert default_cache_dir().parts[-2:] == ("genre-tagger", "features")
    assert FeatureCache().root == default_cache_dir()
