"""``genre-tagger write`` without ``--min-confidence``/``--max-genres`` writes the genres the model
itself names (``tagger.genres.pick``): a multi-label model's genres at or above its threshold, at
most two; a distribution's top genre whatever its score."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tagger.cli import main
from tagger.engine import TrackResult
from tagger.genres import pick
from tagger.library import classify_library, open_library
from tagger.tags import read_tags
from tests.tagger.library.helpers import LABELS, genre_of, library_template, music  # noqa: F401


class ScoredClassifier:
    """The file name's genre at ``top``, the next label at ``second``, the rest at 0.01."""

    labels = LABELS

    def __init__(self, top: float, second: float, threshold: float | None) -> None:
        self.bundle_id = f"scored-{top}-{second}-{threshold}"
        self.top, self.second, self.threshold = top, second, threshold

    def scores(self, path: Path) -> np.ndarray:
        probs = np.full(len(LABELS), 0.01)
        first = LABELS.index(genre_of(path.name))
        probs[first], probs[(first + 1) % len(LABELS)] = self.top, self.second
        return probs

    def classify_paths(self, paths, workers=None):
        for path in map(Path, paths):
            probs = self.scores(path)
            yield TrackResult(path, LABELS, probs, probs[None], np.array([0.0]), False, 1.0, threshold=self.threshold)


def written_after(tmp_path: Path, music: Path, classifier: ScoredClassifier) -> dict[Path, tuple[list[str], list[str]]]:
    """Per written file: (the genres in the file after ``write``, the genres ``pick`` names)."""
    db = tmp_path / "lib.db"
    main(["--db", str(db), "scan", str(music)])
    with open_library(db) as lib:
        classify_library(lib, classifier)
    main(["--db", str(db), "write"])
    files = [p for p in (music / "albums").iterdir() if read_tags(p).writable]
    ranked = {p: sorted(zip(LABELS, classifier.scores(p).tolist()), key=lambda kv: -kv[1]) for p in files}
    return {p: (read_tags(p).genres, pick(ranked[p], classifier.threshold)) for p in files}


def test_a_multi_label_model_writes_its_genres_above_its_threshold(tmp_path, music):
    result = written_after(tmp_path, music, ScoredClassifier(0.6, 0.3, threshold=0.2))
    assert result and all(len(picked) == 2 and got == picked for got, picked in result.values())


def test_a_distribution_writes_its_top_genre_even_below_one_half(tmp_path, music):
    result = written_after(tmp_path, music, ScoredClassifier(0.4, 0.3, threshold=None))
    assert result and all(len(picked) == 1 and got == picked for got, picked in result.values())
