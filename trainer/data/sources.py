"""Open a dataset by path and build a named song-level split of it: what ``genre-trainer`` and the
app's retraining both do before training."""

from __future__ import annotations

from pathlib import Path

from trainer.data.splits import Split, make_split


class DataError(ValueError):
    """A dataset or split that cannot be used as given; the message says why."""


def open_dataset(path: Path | str):
    """A GTZAN-style features CSV, an audio folder (GTZAN layout or one folder per genre), or a
    folder per genre of spectrogram PNGs (Kaggle's ``images_original``)."""
    path = Path(path)
    try:
        if path.is_file() and path.suffix.lower() == ".csv":
            from trainer.data.feature_table import load_csv

            return load_csv(path)
        if path.is_dir():
            from trainer.data.audio_source import open_audio_source
            from trainer.data.images import ImageDataset, ImageSource, holds_images

            return ImageSource(ImageDataset.from_folder(path)) if holds_images(path) else open_audio_source(path)
    except (ValueError, FileNotFoundError) as exc:
        raise DataError(str(exc)) from exc
    raise DataError(f"{path} is neither a features CSV nor a folder of audio or spectrogram images")


def splits_dir_for(data_path: Path, given: Path | None) -> Path | None:
    """``given``, else GTZAN's ``splits/`` folder found beside or above the data."""
    if given is not None:
        return given
    for candidate in (data_path.parent / "splits", data_path / "splits", data_path.parent.parent / "splits"):
        if candidate.is_dir():
            return candidate
    return None


def build_split(data, name: str, seed: int, data_path: Path, splits_dir: Path | None = None) -> Split:
    """The split ``name`` of ``data``'s songs (the filtered one without GTZAN's unreadable clip)."""
    from trainer.data.feature_table import UNREADABLE_AUDIO

    songs = [s for s in data.songs.tolist() if s not in UNREADABLE_AUDIO] if name == "filtered" else data.songs
    genre_of = dict(zip(data.songs.tolist(), data.genres.tolist()))
    try:
        return make_split(name, songs, [genre_of[s] for s in songs], seed=seed,
                          splits_dir=splits_dir_for(Path(data_path), splits_dir))
    except (ValueError, FileNotFoundError) as exc:
        raise DataError(str(exc)) from exc
