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
from trainer.features.spectral import load_png_image

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
