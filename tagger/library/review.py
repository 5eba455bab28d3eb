"""Review: turning the active model's predictions into accepted genres, as the window's "Accept"
buttons and ``genre-tagger accept`` do. Setting or clearing a genre by hand is ``confirm_genres``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from tagger.genres import pick
from tagger.library.classify import active_model
from tagger.library.db import Library
from tagger.library.queries import (
    Confidence,
    Confirmed,
    FileState,
    Query,
    catalogue_select,
    untrusted,
)
from tagger.library.schema import Prediction, Track, TrackStatus
from tagger.library.tracks import confirm_genres


@dataclass(frozen=True)
class AcceptRule:
    """Which predictions to accept, and as how many genres.

    A track qualifies when its top genre's confidence is at least ``min_confidence``; it is given
    that genre and, for a multi-label model, the others at or above the model's own threshold, at
    most ``max_genres`` in all (``tagger.genres.pick``). ``keep_confirmed`` leaves the user's own
    choices alone. A confidence computed mostly on padding or on a truncated file says little, so
    a threshold leaves such predictions out unless ``include_untrusted``; with no threshold (the
    user picked the tracks one by one) they are accepted like any other.
    """

    min_confidence: float = 0.0
    max_genres: int = 1
    keep_confirmed: bool = True
    include_untrusted: bool | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError("min_confidence must be between 0 and 1")
        if self.max_genres < 1:
            raise ValueError("max_genres must be at least 1")

    def selects(self, query: Query) -> Query:
        """The tracks of ``query`` this rule accepts a prediction for."""
        chosen = query & FileState(TrackStatus.OK) & Confidence(at_least=self.min_confidence)
        if self.keep_confirmed:
            chosen &= ~Confirmed()
        include = self.min_confidence <= 0 if self.include_untrusted is None else self.include_untrusted
        return chosen if include else chosen & ~untrusted()


@dataclass(frozen=True)
class Accepted:
    track_id: int
    path: str
    genres: list[str]


def accept_predictions(lib: Library, query: Query, rule: AcceptRule = AcceptRule(), *,
                       dry_run: bool = False) -> list[Accepted]:
    """Confirm the predicted genres of the tracks ``query`` selects, by ``rule``; what was (or, on
    a dry run, would be) accepted, by path. Nothing to accept without an active model."""
    with lib.session() as session:
        model = active_model(session)
        if model is None:
            return []
        found = session.execute(catalogue_select(model.id, Prediction, Track.path)
                                .where(rule.selects(query).clause()).order_by(Track.path))
        accepted = [Accepted(p.track_id, path, pick(p.ranked(), model.threshold, rule.max_genres) or [p.genre])
                    for p, path in found]
    if not dry_run:
        by_genres: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for a in accepted:
            by_genres[tuple(a.genres)].append(a.track_id)
        for genres, ids in by_genres.items():
            confirm_genres(lib, ids, list(genres))
    return accepted
