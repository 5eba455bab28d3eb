"""Audio datasets: GTZAN and folder-per-genre trees, unreadable files, song-level features."""

from __future__ import annotations

import pytest
import soundfile as sf

from tests.support import gtzan_dir, tone, write_audio
from trainer.data.audio import AudioDataset, Item, featurize
from trainer.runtime.audio import WindowSpec
from trainer.runtime.features import make


@pytest.fixture(scope="module")
def gtzan() -> AudioDataset:
    return AudioDataset.from_folder(gtzan_dir())


def test_gtzan_layout_reports_the_corrupt_clip(gtzan):
    assert len(gtzan.items) == 30
    assert gtzan.genres == ["classical", "jazz", "rock"]
    assert {i.song_id for i in gtzan.items} >= {"classical.00000", "jazz.00009", "rock.00005"}
    assert all(i.path.name == f"{i.song_id}.wav" and i.path.parent.name == i.label for i in gtzan.items)
    [(path, reason)] = gtzan.skipped
    assert path.name == "jazz.00054.wav"
    assert "not a readable audio file" in reason


def test_gtzan_splits_are_by_song(gtzan):
    # every readable real clip sits on the training side of the published filtered lists
    with pytest.raises(ValueError, match="keeps no test songs among these 30"):
        gtzan.split("filtered")
    random = gtzan.split("random-70-20-10", seed=1)
    assert sum(random.sizes().values()) == 30


def test_original_au_layout(tmp_path):
    for genre in ("blues", "metal"):
        for i in range(2):
            path = tmp_path / "genres" / genre / f"{genre}.{i:05d}.au"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), tone(0.5, 22050)[:, 0], 22050, format="AU", subtype="PCM_16")
    dataset = AudioDataset.from_folder(tmp_path)
    assert [i.song_id for i in dataset.items] == ["blues.00000", "blues.00001", "metal.00000", "metal.00001"]
    assert dataset.splits_dir is None


def test_any_folder_per_genre_tree(tmp_path):
    write_audio(tmp_path / "rock" / "Album A" / "01 Intro.flac", tone(0.5, 44100, channels=2), 44100)
    write_audio(tmp_path / "rock" / "02 Song.wav", tone(0.5, 22050), 22050)
    write_audio(tmp_path / "jazz" / "Album A" / "01 Intro.ogg", tone(0.5, 44100), 44100)
    (tmp_path / "jazz" / "broken.mp3").write_bytes(b"not audio at all" * 100)
    (tmp_path / "jazz" / "empty.wav").write_bytes(b"")
    (tmp_path / "jazz" / "notes.txt").write_text("ignored: not audio")
    (tmp_path / "jazz" / "._01 Intro.ogg").write_bytes(b"hidden resource fork")
    dataset = AudioDataset.from_folder(tmp_path)
    ids = {i.song_id: i.label for i in dataset.items}
    # "Album A/01 Intro" exists in both genres, so those two ids carry the genre folder and suffix.
    assert ids == {"rock/Album A/01 Intro.flac": "rock", "02 Song": "rock", "jazz/Album A/01 Intro.ogg": "jazz"}
    reasons = {path.name: reason for path, reason in dataset.skipped}
    assert set(reasons) == {"broken.mp3", "empty.wav"}
    assert "empty" in reasons["empty.wav"]


def test_a_tree_without_audio_is_an_error(tmp_path):
    (tmp_path / "rock").mkdir()
    with pytest.raises(ValueError, match="no readable audio"):
        AudioDataset.from_folder(tmp_path)
    with pytest.raises(FileNotFoundError):
        AudioDataset.from_folder(tmp_path / "missing")


def test_featurize_keeps_song_ids_per_window_and_skips_bad_files(tmp_path):
    write_audio(tmp_path / "a.wav", tone(2.5, 22050), 22050)
    (tmp_path / "bad.wav").write_bytes(b"RIFF....garbage")
    items = [Item("a", tmp_path / "a.wav", "rock"), Item("bad", tmp_path / "bad.wav", "jazz")]
    features = featurize(items, make("waveform"), WindowSpec(length_s=1.0, hop_s=1.0, min_tail_s=0.5))
    assert features.x.shape == (3, 22050)             # 0-1 s, 1-2 s and the tail ending at 2.5 s
    assert list(features.song_ids) == ["a"] * 3 and list(features.labels) == ["rock"] * 3
    assert [p.name for p, _ in features.skipped] == ["bad.wav"]
