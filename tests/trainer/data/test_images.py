"""The Kaggle PNG spectrogram images as a dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support import gtzan_dir
from trainer.data.images import ImageDataset, image_song_id, load_images


def test_kaggle_names_map_to_audio_song_ids():
    assert image_song_id(Path("classical00000.png")) == "classical.00000"
    assert image_song_id(Path("my picture.png")) == "my picture"


def test_reads_the_real_images():
    dataset = ImageDataset.from_folder(gtzan_dir())
    assert len(dataset.items) == 30
    assert dataset.items[0].song_id == "classical.00000" and dataset.items[0].label == "classical"
    whole = load_images(dataset.items[:2])
    assert whole.x.shape == (2, 288, 432, 3) and whole.x.dtype == np.uint8
    cropped = load_images(dataset.items[:2], crop=True)
    assert cropped.x.shape == (2, 218, 336, 3)
    assert list(cropped.song_ids) == ["classical.00000", "classical.00001"]


def test_unreadable_images_are_skipped(tmp_path):
    (tmp_path / "rock").mkdir()
    Image.new("RGBA", (432, 288), "white").save(tmp_path / "rock" / "rock00000.png")
    (tmp_path / "rock" / "rock00001.png").write_bytes(b"not a png")
    dataset = ImageDataset.from_folder(tmp_path)
    images = load_images(dataset.items, crop=True)
    assert list(images.song_ids) == ["rock.00000"]
    assert [p.name for p, _ in images.skipped] == ["rock00001.png"]
    with pytest.raises(ValueError, match="no PNG"):
        ImageDataset.from_folder(tmp_path / "rock")
