"""Open a dataset by path and build a named song-level split of it: what ``genre-trainer`` and the
app's retraining both do before training."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from trainer.data.splits import Split, make_split
from trainer.runtime.errors import UserError


class DataError(UserError, ValueError):
    """A dataset or split that cannot be used as given; the message says why."""


def open_dataset(path: Path | str | Sequence[Path | str], window: float | None = None):
    """A GTZAN-style features CSV, an audio folder (GTZAN layout or one folder per genre), or a
    folder per genre of spectrogram PNGs (Kaggle's ``images_original``). Several audio folders
    open as one dataset (a song id in two of them is one song); ``window`` (seconds) sets the
    length of the windows audio is cut into (default: ``audio_source.fitted_window``)."""
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    from trainer.data.audio_source import open_audio_source
    from trainer.data.images import ImageDataset, ImageSource, holds_images

    try:
        if all(p.is_dir() and not holds_images(p) for p in paths):
            return open_audio_source(paths, window=window)
        if window is not None:
            raise DataError("--window applies to audio folders only")
        if len(paths) > 1:
            raise DataError("only audio folders can be combined; give one features CSV or image folder")
        path = paths[0]
        if path.is_file() and path.suffix.lower() == ".csv":
            from trainer.data.feature_table import load_csv

            return load_csv(path)
        if path.is_dir():
            return ImageSource(ImageDataset.from_folder(path))
    except (ValueError, FileNotFoundError) as exc:
        raise DataError(str(exc)) from exc
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise DataError(f"not found: {missing[0]}")
    raise DataError(f"{paths[0]} is neither a features CSV nor a folder of audio or spectrogram images")


def splits_dir_for(data_path: Path | Sequence[Path], given: Path | None) -> Path | None:
    """``given``, else GTZAN's ``splits/`` folder found beside or above the (first) data path."""
    if given is not None:
        return given
    if not isinstance(data_path, (str, Path)):
        data_path = data_path[0]
    data_path = Path(data_path)
    for candidate in (data_path.parent / "splits", data_path / "splits", data_path.parent.parent / "splits"):
        if candidate.is_dir():
            return candidate
    return None


def build_split(data, name: str, seed: int, data_path: Path | Sequence[Path], splits_dir: Path | None = None) -> Split:
    """The split ``name`` of ``data``'s songs (the filtered one without GTZAN's unreadable clip)."""
    from trainer.data.feature_table import UNREADABLE_AUDIO

    songs = [s for s in data.songs.tolist() if s not in UNREADABLE_AUDIO] if name == "filtered" else data.songs
    genre_of = dict(zip(data.songs.tolist(), data.genres.tolist()))
    try:
        return make_split(name, songs, [genre_of[s] for s in songs], seed=seed,
                          splits_dir=splits_dir_for(data_path, splits_dir))
    except (ValueError, FileNotFoundError) as exc:
        raise DataError(str(exc)) from exc
