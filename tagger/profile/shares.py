"""Genre shares of the library and of each playlist.

Each track counts once, under the user's confirmed genres when there are any (split evenly
between them) and otherwise under the active model's most probable genre; weighting is by track
count ("which genres have the most songs") or by duration (which genres fill the most time).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tagger.library import (
    Library,
    Playlist,
    PlaylistEntry,
    Prediction,
    Track,
    TrackStatus,
    active_model,
)
from tagger.library.schema import utcnow

Weighting = Literal["count", "duration"]
WEIGHTINGS: tuple[Weighting, ...] = ("count", "duration")


@dataclass(frozen=True)
class GenreShares:
    """Weights per genre within one scope (the library, or one playlist)."""

    name: str
    weights: dict[str, float]  # genre -> songs, or seconds
    tracks: int  # tracks counted under some genre
    confirmed: int  # of those, how many by the user's confirmed genres
    unknown: int  # tracks (or playlist entries) with no genre yet, or not in the catalogue

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def shares(self) -> dict[str, float]:
        """Genre -> fraction of the total, largest first."""
        total = self.total
        ordered = sorted(self.weights.items(), key=lambda kv: (-kv[1], kv[0]))
        return {g: w / total for g, w in ordered} if total else {}

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        return list(self.shares().items())[:k]


@dataclass(frozen=True)
class Profile:
    weighting: Weighting
    model: str | None  # bundle id of the model whose predictions were used
    library: GenreShares
    playlists: list[GenreShares] = field(default_factory=list)
    taken_at: datetime = field(default_factory=utcnow)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["taken_at"] = self.taken_at.isoformat(timespec="seconds")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls(data["weighting"], data["model"], GenreShares(**data["library"]),
                   [GenreShares(**p) for p in data["playlists"]], datetime.fromisoformat(data["taken_at"]))


def _track_genres(session: Session) -> tuple[dict[int, tuple[list[str], bool, float]], str | None]:
    """track id -> (genres, confirmed?, duration) for every OK track that has a genre."""
    model = active_model(session)
    canonical = {label.casefold(): label for label in (model.labels if model else [])}
    predicted = {}
    if model is not None:
        predicted = dict(session.execute(select(Prediction.track_id, Prediction.genre)
                                         .where(Prediction.model_id == model.id)).all())
    genres: dict[int, tuple[list[str], bool, float]] = {}
    rows = session.execute(select(Track.id, Track.confirmed_genres, Track.duration_s)
                           .where(Track.status == TrackStatus.OK))
    for track_id, confirmed, duration in rows:
        if confirmed:
            names = list(dict.fromkeys(canonical.get(g.casefold(), g) for g in confirmed))
            genres[track_id] = (names, True, duration or 0.0)
        elif track_id in predicted:
            genres[track_id] = ([predicted[track_id]], False, duration or 0.0)
    return genres, model.bundle_id if model else None


def _shares(name: str, track_ids: list[int], unknown: int, genres: dict[int, tuple[list[str], bool, float]],
            weighting: Weighting) -> GenreShares:
    weights: dict[str, float] = defaultdict(float)
    counted = confirmed = 0
    for track_id in track_ids:
        if track_id not in genres:
            unknown += 1
            continue
        names, is_confirmed, duration = genres[track_id]
        weight = 1.0 if weighting == "count" else duration
        for genre in names:
            weights[genre] += weight / len(names)
        counted += 1
        confirmed += is_confirmed
    return GenreShares(name, dict(weights), counted, confirmed, unknown)


def compute_profile(lib: Library, weighting: Weighting = "count") -> Profile:
    """The taste profile now: the whole library, then each playlist (its distinct tracks)."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}")
    with lib.session() as session:
        genres, model = _track_genres(session)
        ok_tracks = list(session.scalars(select(Track.id).where(Track.status == TrackStatus.OK)))
        library = _shares("Library", ok_tracks, 0, genres, weighting)
        playlists = []
        for playlist in session.scalars(select(Playlist).where(Playlist.status == TrackStatus.OK)
                                        .order_by(Playlist.name)):
            linked = list(session.scalars(select(PlaylistEntry.track_id).distinct()
                                          .where(PlaylistEntry.playlist_id == playlist.id,
                                                 PlaylistEntry.track_id.is_not(None))))
            unlinked = session.scalar(select(func.count()).where(PlaylistEntry.playlist_id == playlist.id,
                                                                 PlaylistEntry.track_id.is_(None)))
            playlists.append(_shares(playlist.name, linked, unlinked, genres, weighting))
    return Profile(weighting, model, library, playlists)
