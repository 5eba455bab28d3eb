"""Accepting predictions: which tracks qualify, and as which genres, by the rule and the model's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from tagger.engine import TrackResult
from tagger.library import Track, classify_library, confirm_genres, open_library, scan
from tagger.library.queries import Everything, Genre, TrackIds
from tagger.library.review import AcceptRule, accept_predictions
from tests.tagger.library.helpers import (  # noqa: F401
    LABELS,
    FakeClassifier,
    genre_of,
    library_template,
    music,
)


class MultiLabel(FakeClassifier):
    """A multi-label model with a 0.4 threshold: the name's genre scores 0.8 and the next label 0.5,
    except rock files, whose every score is below the threshold (rock 0.3)."""

    bundle_id, threshold = "fake-multi-label", 0.4

    def classify_paths(self, paths, workers=None):
        for path in map(Path, paths):
            top = LABELS.index(genre_of(path.name))
            probs = np.full(len(LABELS), 0.1)
            probs[top], probs[(top + 1) % len(LABELS)] = (0.3, 0.2) if genre_of(path.name) == "rock" else (0.8, 0.5)
            yield TrackResult(path, LABELS, probs, probs[None], np.zeros(1), False, 1.0)


@pytest.fixture
def lib(tmp_path, music):  # noqa: F811
    with open_library(tmp_path / "lib.db") as lib:
        scan(lib, [music])
        yield lib


def confirmed(lib) -> dict[str, list[str] | None]:
    with lib.session() as session:
        return {Path(p).name: g for p, g in session.execute(select(Track.path, Track.confirmed_genres))
                if not p.endswith(("broken.mp3", "empty.flac"))}


def expected(name: str, max_genres: int) -> list[str]:
    """The genres the model's own rule gives a file of ``MultiLabel``, worked out by hand."""
    genre = genre_of(name)
    if genre == "rock":
        return ["rock"]  # nothing reaches the threshold: the top genre alone, as the user asked
    return [genre, LABELS[(LABELS.index(genre) + 1) % len(LABELS)]][:max_genres]


@pytest.mark.parametrize("max_genres", [1, 2, 3])
def test_a_multi_label_model_gives_its_genres_above_its_threshold(lib, max_genres):
    classify_library(lib, MultiLabel(), workers=0)
    accepted = accept_predictions(lib, Everything(), AcceptRule(max_genres=max_genres))
    assert len(accepted) == 7
    assert confirmed(lib) == {name: expected(name, max_genres) for name in confirmed(lib)}
    assert {Path(a.path).name: a.genres for a in accepted} == confirmed(lib)


def test_the_confidence_chooses_the_tracks_and_a_dry_run_changes_nothing(lib):
    classify_library(lib, MultiLabel(), workers=0)
    would = accept_predictions(lib, Everything(), AcceptRule(min_confidence=0.5, max_genres=2), dry_run=True)
    assert sorted(Path(a.path).name for a in would) == sorted(n for n in confirmed(lib) if genre_of(n) != "rock")
    assert set(confirmed(lib).values()) == {None}
    assert accept_predictions(lib, Everything(), AcceptRule(min_confidence=0.5, max_genres=2)) == would


def test_a_distribution_gives_its_top_genre_and_the_users_choices_stay(lib):
    classify_library(lib, FakeClassifier(), workers=0)
    with lib.session() as session:
        jazz = session.scalar(select(Track.id).where(Track.path.endswith("jazz-flac.flac")))
    confirm_genres(lib, [jazz], ["Fusion"])
    accepted = accept_predictions(lib, Genre("jazz"), AcceptRule(max_genres=3))
    assert [Path(a.path).name for a in accepted] == ["jazz-mp3.mp3"]  # jazz-flac keeps the user's genre
    assert confirmed(lib)["jazz-flac.flac"] == ["Fusion"] and confirmed(lib)["jazz-mp3.mp3"] == ["jazz"]
    accept_predictions(lib, TrackIds([jazz]), AcceptRule(keep_confirmed=False))
    assert confirmed(lib)["jazz-flac.flac"] == ["jazz"]


def test_nothing_to_accept_without_a_model(lib):
    assert accept_predictions(lib, Everything()) == []
