"""Audio datasets: the GTZAN audio layout and any folder-per-genre tree, and their features.

``AudioDataset.from_folder`` accepts a GTZAN root (``genres_original/<genre>/*.wav`` or the
original ``genres/<genre>/*.au``) or any tree whose top-level folders name genres (files may sit in
sub-folders, e.g. albums). Every file is checked for readability when the dataset is built; the
unreadable ones (GTZAN's ``jazz.00054.wav``) are listed in ``skipped`` with a reason, never loaded.
``AudioDataset.combine`` joins several folders; files with the same song id (an excerpt of
``classical.00003`` and its full clip) are one song with several files, so splits by song keep
them together.

``featurize`` decodes songs, cuts windows and runs a feature pipeline, caching per song; every
window keeps its song id, so song-level splits (``trainer.data.splits``) hold for windows too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache as cache_once
from functools import partial
from pathlib import Path

import numpy as np
import soundfile as sf

from trainer.data.augment import ORIGINAL, Variant
from trainer.data.feature_cache import FeatureCache
from trainer.data.splits import Split, make_split
from trainer.runtime.audio import (
    AUDIO_EXTENSIONS,
    DecodedAudio,
    UnreadableAudio,
    WindowSpec,
    cut_windows,
    decode,
)
from trainer.runtime.features import FeaturePipeline

# GTZAN audio folders, in the order they are looked for under a dataset root.
GTZAN_AUDIO_DIRS = ("genres_original", "genres")


@dataclass(frozen=True)
class Item:
    """One file of a song: ``song_id`` is what splits list (one song may have several files);
    ``seconds`` is its duration where the file header says it."""

    song_id: str
    path: Path
    label: str
    seconds: float | None = None


def genre_files(folder: Path, extensions: Iterable[str]) -> list[tuple[str, Path]]:
    """(genre, file) for every file with one of ``extensions`` below a top-level genre folder,
    sorted; hidden files and folders (``.DS_Store``, ``._x.wav``) are ignored."""
    wanted = {e.lower() for e in extensions}
    found = []
    for genre_dir in sorted(p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(genre_dir.rglob("*")):
            relative = path.relative_to(genre_dir).parts
            if path.is_file() and path.suffix.lower() in wanted and not any(part.startswith(".") for part in relative):
                found.append((genre_dir.name, path))
    return found


def _song_ids(folder: Path, files: Sequence[tuple[str, Path]]) -> list[str]:
    """``blues.00029`` for GTZAN names; in general the path inside the genre folder without its
    suffix, or the path inside ``folder`` with it where that alone would not be unique."""
    short = [path.relative_to(folder / genre).with_suffix("").as_posix() for genre, path in files]
    counts = Counter(short)
    return [s if counts[s] == 1 else path.relative_to(folder).as_posix() for s, (_, path) in zip(short, files)]


def probe(path: Path) -> tuple[float | None, str | None]:
    """(duration in seconds or None where unknown, why ``path`` cannot be decoded or None). Reads
    the header only where soundfile knows the format; other formats (e.g. M4A) are decoded in full."""
    try:
        info = sf.info(str(path))
    except Exception:  # not a soundfile format, or a damaged file: let the decoder judge
        try:
            audio = decode(path, 22050)
        except UnreadableAudio as exc:
            return None, exc.reason
        return len(audio.samples) / 22050, None
    if info.frames <= 0 or info.samplerate <= 0:
        return None, "no audio samples in file"
    return info.frames / info.samplerate, None


@dataclass
class AudioDataset:
    """Readable songs under ``root`` (and the folders ``also`` joined to it) with their genre
    labels, and the files that were skipped."""

    root: Path
    items: list[Item]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    also: tuple[Path, ...] = ()

    @classmethod
    def from_folder(cls, root: Path | str, check: bool = True) -> AudioDataset:
        """Scan a GTZAN root or a folder-per-genre tree; ``check`` tests each file's readability."""
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"dataset folder not found: {root}")
        folder = next((root / d for d in GTZAN_AUDIO_DIRS if (root / d).is_dir()), root)
        files = genre_files(folder, AUDIO_EXTENSIONS)
        items, skipped = [], []
        for sid, (genre, path) in zip(_song_ids(folder, files), files):
            seconds, reason = probe(path) if check else (None, None)
            if reason is None:
                items.append(Item(sid, path, genre, seconds))
            else:
                skipped.append((path, reason))
        if not items:
            raise ValueError(f"no readable audio in genre folders under {folder}")
        return cls(root, items, skipped)

    @classmethod
    def combine(cls, datasets: Sequence[AudioDataset]) -> AudioDataset:
        """Several datasets as one, rooted at the first (its ``splits/`` folder serves); a song id
        in several of them is one song with several files. A song id with two genres is an error."""
        if len(datasets) == 1:
            return datasets[0]
        items = [item for d in datasets for item in d.items]
        genre_of: dict[str, str] = {}
        for item in items:
            if genre_of.setdefault(item.song_id, item.label) != item.label:
                raise ValueError(f"song {item.song_id} is labelled both {genre_of[item.song_id]} and {item.label}")
        return cls(datasets[0].root, items, [s for d in datasets for s in d.skipped],
                   also=tuple(r for d in datasets[1:] for r in (d.root, *d.also)))

    @property
    def source(self) -> str:
        """Where the songs come from, for reports: the folder, or the folders joined by ``+``."""
        return " + ".join(str(r) for r in (self.root, *self.also))

    @property
    def songs(self) -> list[str]:
        """Song ids, each once, in the order first found."""
        return list(dict.fromkeys(item.song_id for item in self.items))

    @property
    def genres(self) -> list[str]:
        return sorted({item.label for item in self.items})

    @property
    def splits_dir(self) -> Path | None:
        """GTZAN's ``splits/`` folder (the filtered split lists), where the root has one."""
        path = self.root / "splits"
        return path if path.is_dir() else None

    def split(self, name: str = "random-80-20", seed: int = 0) -> Split:
        """A named song-level split of this dataset (``trainer.data.splits.make_split``)."""
        genre_of = {i.song_id: i.label for i in self.items}
        songs = self.songs
        return make_split(name, songs, [genre_of[s] for s in songs], seed=seed, splits_dir=self.splits_dir)

    def subset(self, song_ids: Iterable[str]) -> list[Item]:
        """Every file of ``song_ids``, songs in that order."""
        files: dict[str, list[Item]] = {}
        for item in self.items:
            files.setdefault(item.song_id, []).append(item)
        return [item for s in song_ids for item in files[s]]


@dataclass(frozen=True)
class FeatureSet:
    """Features of many windows: ``x`` (n_windows, ...) with, per window, its label, song id and
    variant name; ``skipped`` lists (path, reason) for songs that failed to decode."""

    x: np.ndarray
    labels: np.ndarray
    song_ids: np.ndarray
    variants: np.ndarray
    skipped: tuple[tuple[Path, str], ...] = ()

    def __len__(self) -> int:
        return len(self.x)


def _variant_features(pipeline: FeaturePipeline, audio: Callable[[], DecodedAudio], spec: WindowSpec,
                      variant: Variant) -> np.ndarray:
    rate = pipeline.sample_rate
    return pipeline(cut_windows(variant.apply(audio().samples, rate), rate, spec).frames)


def featurize(items: Sequence[Item], pipeline: FeaturePipeline, spec: WindowSpec = WindowSpec(),
              cache: FeatureCache | None = None, variants: Sequence[Variant] = (ORIGINAL,)) -> FeatureSet:
    """Decode each item (once) at ``pipeline.sample_rate``, apply each variant, cut windows by
    ``spec`` and run ``pipeline`` on them; songs that fail to decode are skipped and listed. With a
    ``cache``, a (song, variant) already computed with these parameters is not even decoded.
    ``make("waveform")`` as the pipeline gives the windows themselves."""
    chunks, labels, ids, names, skipped = [], [], [], [], []
    for item in items:
        audio = cache_once(partial(decode, item.path, pipeline.sample_rate))
        try:
            song = []
            for variant in variants:
                compute = partial(_variant_features, pipeline, audio, spec, variant)
                context = {"windows": spec.to_dict(), "variant": variant.name}
                song.append(compute() if cache is None else cache.get_or_compute(item.path, pipeline, compute, context))
        except UnreadableAudio as exc:
            skipped.append((item.path, exc.reason))
            continue
        for variant, x in zip(variants, song):
            chunks.append(x)
            labels += [item.label] * len(x)
            ids += [item.song_id] * len(x)
            names += [variant.name] * len(x)
    if not chunks:
        raise ValueError("no windows: every song failed to decode" if skipped else "no songs given")
    return FeatureSet(np.concatenate(chunks), np.asarray(labels), np.asarray(ids), np.asarray(names), tuple(skipped))
