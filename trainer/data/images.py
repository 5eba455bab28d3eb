"""The Kaggle GTZAN spectrogram images (``images_original/<genre>/<genre>NNNNN.png``) as a dataset.

The PNG names drop the dot of the audio names (``classical00000.png`` is ``classical.00000.wav``);
song ids here put it back, so one split serves the audio and the image methods alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainer.data.audio import FeatureSet, Item, genre_files
from trainer.data.augment import ORIGINAL
from trainer.methods.base import Arrays
from trainer.runtime.features.spectral import load_png_image

_KAGGLE_NAME = re.compile(r"^([a-z]+)(\d{5})$")


def image_song_id(path: Path) -> str:
    """``classical00000.png`` -> ``classical.00000``; other names -> their stem."""
    match = _KAGGLE_NAME.match(path.stem)
    return f"{match[1]}.{match[2]}" if match else path.stem


@dataclass
class ImageDataset:
    """PNG spectrogram images under ``root`` (a GTZAN root with ``images_original/``, or any
    folder-per-genre tree of PNGs)."""

    root: Path
    items: list[Item] = field(default_factory=list)

    @classmethod
    def from_folder(cls, root: Path | str) -> ImageDataset:
        root = Path(root)
        folder = root / "images_original" if (root / "images_original").is_dir() else root
        items = [Item(image_song_id(path), path, genre) for genre, path in genre_files(folder, {".png"})]
        if not items:
            raise ValueError(f"no PNG images in genre folders under {folder}")
        return cls(root, items)


def load_images(items: Sequence[Item], crop: bool = False) -> FeatureSet:
    """Images (n, 288, 432, 3) uint8, or their (n, 218, 336, 3) plot areas when ``crop``; images
    that cannot be read are skipped and listed with the reason."""
    images, kept, skipped = [], [], []
    for item in items:
        try:
            images.append(load_png_image(item.path, crop=crop))
            kept.append(item)
        except (OSError, ValueError) as exc:
            skipped.append((item.path, str(exc)))
    if not images:
        raise ValueError("no readable images")
    return FeatureSet(np.stack(images), np.asarray([i.label for i in kept]), np.asarray([i.song_id for i in kept]),
                      np.asarray([ORIGINAL.name] * len(kept)), tuple(skipped))


def holds_images(folder: Path | str) -> bool:
    """Whether ``folder`` holds one folder per genre of PNG images and no audio (the Kaggle
    ``images_original``); a GTZAN root, with both, counts as audio."""
    from trainer.runtime.audio import AUDIO_EXTENSIONS

    suffixes = {p.suffix.lower() for p in Path(folder).glob("*/*") if p.is_file()}
    return ".png" in suffixes and not suffixes & AUDIO_EXTENSIONS


class ImageSource:
    """The PNG spectrogram images as a song source for ``trainer.run``: they feed the
    ``spectrogram-image`` pipeline's methods (seeds 000 and 001) as if the pipeline had drawn them,
    and the exported bundle draws them from audio the same way at tagging time."""

    def __init__(self, dataset: ImageDataset) -> None:
        self.dataset = dataset
        self.source = str(dataset.root)
        self.songs = np.asarray([item.song_id for item in dataset.items])
        self.genres = np.asarray([item.label for item in dataset.items])
        self._items = {item.song_id: item for item in dataset.items}

    @property
    def labels(self) -> list[str]:
        return sorted(set(self.genres.tolist()))

    def feeds(self, pipeline_name: str) -> bool:
        return pipeline_name == "spectrogram-image"

    def arrays(self, songs: Sequence[str], pipeline, labels: list[str], augment: bool = False) -> Arrays:
        if augment:
            raise ValueError("images cannot be time-stretched or shifted: augmentation needs the audio")
        songs = list(songs)
        if not songs:
            return Arrays(np.zeros((0,), dtype=np.uint8), np.zeros(0, dtype=np.int64), np.asarray([], dtype=str))
        images = load_images([self._items[s] for s in songs], crop=pipeline.crop)
        index = {label: i for i, label in enumerate(labels)}
        return Arrays(images.x, np.asarray([index[g] for g in images.labels], dtype=np.int64), images.song_ids)
