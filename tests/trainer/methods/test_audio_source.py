"""An audio folder as a song source: windows, cache, padding, augmentation, unreadable files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from tests.trainer.methods.conftest import CLIPS_PER_STYLE, WINDOW
from trainer.data.audio_source import AudioSource, open_audio_source
from trainer.data.sources import open_dataset
from trainer.run import run_method
from trainer.runtime.audio import WindowSpec, cut_windows, decode
from trainer.runtime.features import make


def test_songs_genres_and_rows(source, split):
    assert len(source.songs) == 6 * CLIPS_PER_STYLE and len(source.labels) == 6
    assert source.feeds("gtzan-csv") and source.feeds("logmel")
    fft = make("fft")
    rows = source.arrays(list(split.test), fft, source.labels)
    assert rows.x.shape == (len(split.test), 2049)
    assert rows.songs.tolist() == list(split.test)
    genre_of = dict(zip(source.songs, source.genres))
    assert [source.labels[i] for i in rows.y] == [genre_of[s] for s in rows.songs]
    assert len(source.arrays([], fft, source.labels)) == 0


def test_rows_are_the_tagger_windows_through_the_pipeline(source, synthetic_dir):
    song = source.dataset.items[0]
    mfcc = make("mfcc", n_mfcc=20)
    rows = source.arrays([song.song_id], mfcc, source.labels)
    windows = cut_windows(decode(song.path, mfcc.sample_rate).samples, mfcc.sample_rate, WINDOW).frames
    np.testing.assert_allclose(rows.x, mfcc(windows), rtol=1e-5, atol=1e-4)


def test_longer_songs_give_more_windows_and_short_ones_are_padded(tmp_path, synthetic_dir):
    for genre in ("ambient", "techno"):
        shutil.copytree(synthetic_dir / genre, tmp_path / genre)
    long_song = tmp_path / "techno" / "long.wav"
    audio, rate = sf.read(str(tmp_path / "techno" / "techno.00000.wav"), dtype="float32")
    sf.write(str(long_song), np.concatenate([audio, audio, audio]), rate)          # 12 s: three windows
    sf.write(str(tmp_path / "ambient" / "short.wav"), audio[: rate], rate)          # 1 s: padded to one
    source = open_audio_source(tmp_path, window=WINDOW, use_cache=False)
    rows = source.arrays(["long", "short"], make("fft"), source.labels)
    assert rows.songs.tolist() == ["long"] * 3 + ["short"]


def test_augmentation_adds_seed_004s_five_presentations_when_asked(source, split):
    fft = make("fft")
    songs = list(split.train[:3])
    plain = source.arrays(songs, fft, source.labels)
    augmented = source.arrays(songs, fft, source.labels, augment=True)
    assert len(plain) == 3 and len(augmented) == 18
    assert sorted(augmented.songs.tolist()) == sorted(songs * 6)
    np.testing.assert_allclose(augmented.x[::6], plain.x, rtol=1e-6)   # the original comes first


@pytest.mark.parametrize("name", ["cnn-mel128-aug", "cnn-mel128"])
def test_a_run_augments_its_training_songs_only(name, source, split, monkeypatch):
    """Seed 004 augments the training set; validation and test songs are always the originals."""
    asked = []
    arrays = AudioSource.arrays

    def spy(self, songs, pipeline, labels, augment=False):
        asked.append((sorted(songs), augment))
        return arrays(self, songs, pipeline, labels, augment=augment)

    monkeypatch.setattr(AudioSource, "arrays", spy)
    run_method(name, source, split, seed=0, overrides={"train.epochs": 1, "channels": 4, "layers": 2})
    augmented = name.endswith("-aug")
    assert asked == [(sorted(split.train), augmented), (sorted(split.valid), False), (sorted(split.test), False)]


def test_features_are_cached_on_disk(synthetic_dir, tmp_path):
    cached = open_audio_source(synthetic_dir, window=WINDOW, cache_dir=tmp_path / "cache")
    song = cached.songs[:2].tolist()
    first = cached.arrays(song, make("fft"), cached.labels)
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 2
    again = cached.arrays(song, make("fft"), cached.labels)
    np.testing.assert_array_equal(first.x, again.x)


def test_unreadable_files_are_reported_and_skipped(tmp_path, synthetic_dir):
    shutil.copytree(synthetic_dir / "waltz", tmp_path / "waltz")
    (tmp_path / "waltz" / "broken.wav").write_bytes(b"not audio at all" * 10)
    source = open_audio_source(tmp_path, use_cache=False)
    assert "broken" not in source.songs.tolist()
    assert [p.name for p, _ in source.skipped] == ["broken.wav"]


def test_cli_opens_a_folder_as_an_audio_source(synthetic_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    data = open_dataset(synthetic_dir)
    # the 4-s clips are shorter than the tagger's 30-s window: windows fit the clips instead
    assert isinstance(data, AudioSource) and data.window == WindowSpec(length_s=4.0, hop_s=4.0)


def test_run_method_measures_songs_of_an_audio_source(source, split):
    result = run_method("fft-mlp", source, split, seed=0, overrides={"train.epochs": 1})
    assert result.metrics["n_test"] == len(split.test)
    assert result.summary()["pipeline"] == {"name": "fft", "params": make("fft").params}
