"""The user's library as training data: confirmed genres label the songs; thin genres are left out."""

from __future__ import annotations

import pytest

from tests.support import tone, write_audio
from trainer.data.library_source import library_source
from trainer.runtime.audio import WindowSpec
from trainer.runtime.features import make


def test_confirmed_tracks_become_a_song_source(tmp_path):
    examples = []
    for i in range(11):
        genre = "rock" if i < 5 else "jazz" if i < 10 else "polka"
        path = write_audio(tmp_path / f"{i}.wav", tone(3.0, 8000, freq=200 + 30 * i), 8000)
        examples.append((str(100 + i), str(path), genre))
    source = library_source(examples, "my library", window=WindowSpec(1.0, 1.0), use_cache=False)
    assert source.labels == ["jazz", "rock"]
    assert source.source == "my library"
    assert [p.name for p, _ in source.skipped] == ["10.wav"]
    assert "only 1 confirmed songs of polka" in source.skipped[0][1]
    arrays = source.arrays(["100", "105"], make("waveform", sample_rate=8000), source.labels)
    assert arrays.songs.tolist() == ["100"] * 3 + ["105"] * 3  # three 1-s windows each
    assert arrays.y.tolist() == [1, 1, 1, 0, 0, 0]


def test_one_genre_is_not_enough(tmp_path):
    path = write_audio(tmp_path / "a.wav", tone(1.0, 8000), 8000)
    with pytest.raises(ValueError, match="at least two genres"):
        library_source([(str(i), str(path), "rock") for i in range(6)], "lib", use_cache=False)
