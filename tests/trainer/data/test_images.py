"""The Kaggle PNG spectrogram images as a dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support import gtzan_dir
from trainer.data.images import ImageDataset, holds_images, image_song_id, load_images


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


def test_the_kaggle_images_train_a_method_whose_bundle_tags_audio(tmp_path):
    """The real PNGs feed seed 000's CNN from the command line; the bundle then draws the same kind
    of image from a real clip's audio when the tagger classifies it."""
    import json

    from tagger.engine import Classifier, TrackResult
    from trainer.cli import main

    images = gtzan_dir() / "images_original"
    assert holds_images(images) and not holds_images(gtzan_dir())  # a GTZAN root is read as audio
    out = tmp_path / "run"
    assert main(["train", "cnn-image", "--data", str(images), "--split", "random-80-20", "--out", str(out),
                 "--set", "train.epochs=2", "--set", "channels=4", "--set", "layers=2", "--set", "stride=2"]) == 0
    report = json.loads((out / "report.json").read_text())
    n_images = len(list(images.rglob("*.png")))
    assert report["n_test"] == report["split"]["test"] == round(0.2 * n_images)
    assert report["labels"] == ["classical", "jazz", "rock"]
    classifier = Classifier.load(out / "bundle", device="cpu")
    [result] = classifier.classify_paths([gtzan_dir() / "genres_original/rock/rock.00001.wav"], workers=0)
    assert isinstance(result, TrackResult) and result.n_windows == 1
    assert result.probs.sum() == pytest.approx(1.0)
