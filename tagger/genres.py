"""A model's genres and descriptors: what its outputs mean as genres a file may carry.

A tagger like MusiCNN-MSD answers 50 independent tags, some genres ("Hip-Hop", "rnb"), some not
("80s", "female vocalists", "Mellow"). Its bundle's manifest holds a ``vocabulary``: each genre tag
with its display name (tags naming the same genre share one, and the genre scores as its best
tag), each other tag as a descriptor, and the threshold above which a genre counts. Descriptors
are shown, never written. A bundle without a vocabulary (a GTZAN-10 classifier) outputs a
distribution over genres: every label is a genre, and a track's genre is its most probable one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Genres a track may carry at most, unless asked otherwise.
DEFAULT_MAX_GENRES = 2


@dataclass(frozen=True)
class Vocabulary:
    """How a bundle's outputs map to genres and descriptors."""

    genres: list[str]  # display names, in order of first appearance
    descriptors: list[str]
    threshold: float | None  # a multi-label model's genre threshold; None for a distribution
    genre_index: np.ndarray  # (labels,) column of each label in ``genres``, or -1
    descriptor_index: np.ndarray  # (labels,) column of each label in ``descriptors``, or -1

    @classmethod
    def of(cls, labels: list[str], vocabulary: dict | None) -> Vocabulary:
        """The vocabulary a manifest declares for ``labels`` (validated by the bundle loader)."""
        if vocabulary is None:
            return cls(list(labels), [], None, np.arange(len(labels)), np.full(len(labels), -1))
        genre_names = list(dict.fromkeys(vocabulary["genres"][x] for x in labels if x in vocabulary["genres"]))
        descriptor_names = list(dict.fromkeys(vocabulary["descriptors"][x] for x in labels
                                              if x in vocabulary["descriptors"]))
        genre_index = np.array([genre_names.index(vocabulary["genres"][x]) if x in vocabulary["genres"] else -1
                                for x in labels])
        descriptor_index = np.array([descriptor_names.index(vocabulary["descriptors"][x])
                                     if x in vocabulary["descriptors"] else -1 for x in labels])
        return cls(genre_names, descriptor_names, float(vocabulary["threshold"]), genre_index, descriptor_index)

    @staticmethod
    def _pool(probs: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
        out = np.zeros((*probs.shape[:-1], n), dtype=probs.dtype)
        for label, column in enumerate(index):
            if column >= 0:
                out[..., column] = np.maximum(out[..., column], probs[..., label])
        return out

    def split(self, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(genre scores, descriptor scores) of label probabilities ``(..., labels)``: each name
        scores as the most probable of its tags."""
        return self._pool(probs, self.genre_index, len(self.genres)), \
            self._pool(probs, self.descriptor_index, len(self.descriptors))


class NamedOutputs:
    """A model's outputs as the catalogue records them (``use_model`` takes a loaded classifier or a
    settings' bundle description alike): derived from the subclass's ``vocabulary``."""

    vocabulary: Vocabulary

    @property
    def labels(self) -> list[str]:
        """The genres the model tells apart (display names; descriptors are apart)."""
        return self.vocabulary.genres

    @property
    def descriptors(self) -> list[str]:
        return self.vocabulary.descriptors

    @property
    def threshold(self) -> float | None:
        return self.vocabulary.threshold


def pick(ranked: list[tuple[str, float]], threshold: float | None, max_genres: int = DEFAULT_MAX_GENRES) -> list[str]:
    """A track's genres from its ``(genre, score)`` pairs, most probable first: those at or above
    ``threshold`` (a multi-label model's), at most ``max_genres``; a distribution's top genre alone."""
    if max_genres < 1:
        raise ValueError("max_genres must be at least 1")
    if threshold is None:
        return [ranked[0][0]] if ranked else []
    return [genre for genre, p in ranked if p >= threshold][:max_genres]
