"""The GTZAN CSV (``features_30_sec.csv``) as a table of songs, with its known faults surfaced.

The CSV holds 14 pairs of identical rows (GTZAN's repeated clips) and a row for ``jazz.00054``,
whose audio is unreadable. ``usable()`` drops both kinds; the seed protocols keep them, as the
seeds did, and the reports say so.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer.runtime.features.gtzan_csv import COLUMNS

UNREADABLE_AUDIO = ("jazz.00054",)


@dataclass(frozen=True)
class FeatureTable:
    """One row per song: ``x`` (n, 58) in ``COLUMNS`` order, genre names, and song ids."""

    songs: np.ndarray
    x: np.ndarray
    genres: np.ndarray
    source: str

    @property
    def labels(self) -> list[str]:
        return sorted(set(self.genres.tolist()))

    def y(self, labels: list[str]) -> np.ndarray:
        index = {g: i for i, g in enumerate(labels)}
        return np.asarray([index[g] for g in self.genres], dtype=np.int64)

    def select(self, songs) -> FeatureTable:
        position = {s: i for i, s in enumerate(self.songs)}
        rows = np.asarray([position[s] for s in songs], dtype=int)
        return FeatureTable(self.songs[rows], self.x[rows], self.genres[rows], self.source)

    def feeds(self, pipeline_name: str) -> bool:
        """Fixed CSV features can feed only the pipeline that computes them."""
        return pipeline_name == "gtzan-csv"

    def arrays(self, songs, pipeline, labels: list[str], augment: bool = False):
        """Method inputs for ``songs`` (one row each); ``augment`` has no meaning for fixed features."""
        from trainer.methods.base import Arrays

        if not self.feeds(pipeline.name):
            raise ValueError(f"the features CSV cannot feed the {pipeline.name!r} pipeline; give an audio folder")
        part = self.select(songs)
        return Arrays(part.x, part.y(labels), part.songs)

    def duplicate_groups(self) -> list[list[str]]:
        """Songs whose 58 feature values are identical (repeated clips), in groups."""
        groups: dict[bytes, list[str]] = {}
        for song, row in zip(self.songs, self.x):
            groups.setdefault(row.tobytes(), []).append(str(song))
        return [g for g in groups.values() if len(g) > 1]

    def usable(self) -> tuple[FeatureTable, list[str]]:
        """Rows fit to train a shipped model on: one of each repeated clip, no unreadable audio."""
        dropped = [s for s in UNREADABLE_AUDIO if s in set(self.songs)]
        for group in self.duplicate_groups():
            dropped += sorted(group)[1:]
        keep = [s for s in self.songs if s not in set(dropped)]
        return self.select(keep), sorted(dropped)


def load_csv(path: Path | str) -> FeatureTable:
    """Read a GTZAN-style features CSV (``filename``, the 58 columns, ``label``)."""
    path = Path(path)
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("filename", "label", *COLUMNS) if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} is not a GTZAN features CSV: missing columns {', '.join(missing[:5])}")
        rows = list(reader)
    songs = np.asarray([r["filename"].removesuffix(".wav") for r in rows])
    x = np.asarray([[float(r[c]) for c in COLUMNS] for r in rows], dtype=np.float64)
    genres = np.asarray([r["label"] for r in rows])
    return FeatureTable(songs, x, genres, source=str(path))

