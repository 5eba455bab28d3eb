"""What the window reads from the catalogue: table rows (SQL-side filter, sort and paging), one
track's detail, and the review operations built on ``tagger.library``.

Nothing here imports Qt, so every query can be tested, and reused, without a window.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import String, and_, case, cast, false, func, or_, select
from sqlalchemy.sql import ColumnElement, Select

from tagger.library import (
    Library,
    Prediction,
    Track,
    TrackStatus,
    WindowPrediction,
    active_model,
    confirm_genres,
)
from tagger.library.db import among

#: Review states a row can be in, as the status filter offers them (key -> title).
STATUSES: dict[str, str] = {
    "unclassified": "Not classified",
    "review": "To review",
    "accepted": "Accepted",
    "unreadable": "Unreadable",
    "missing": "Missing",
}


@dataclass(frozen=True)
class Filters:
    """What the library table shows. ``folders`` are the user's music folders (tracks elsewhere in
    the catalogue are not shown); ``folder`` narrows to one of them."""

    folders: tuple[str, ...] = ()
    folder: str | None = None
    genre: str | None = None
    min_confidence: float = 0.0
    status: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Row:
    """One table row, as shown."""

    track_id: int
    path: str
    title: str | None
    artist: str | None
    album: str | None
    genres: list[str]
    confirmed: list[str] | None
    status: str
    error: str | None
    predicted: str | None
    confidence: float | None

    @property
    def review_state(self) -> str:
        """One of ``STATUSES``, or ``written`` when the accepted genres are in the file."""
        if self.status != TrackStatus.OK:
            return self.status
        if self.confirmed:
            same = [g.casefold() for g in self.confirmed] == [g.casefold() for g in self.genres]
            return "written" if same else "accepted"
        return "review" if self.predicted is not None else "unclassified"


#: Table columns: key -> title. The model shows them in this order.
COLUMNS: dict[str, str] = {
    "title": "Title",
    "artist": "Artist",
    "album": "Album",
    "genres": "Current genre",
    "predicted": "Predicted genre",
    "confidence": "Confidence",
    "confirmed": "Accepted genre",
    "status": "Status",
    "file": "File",
    "folder": "Folder",
}


def folder_of(path: str, roots: Sequence[str]) -> str:
    """The folder of ``path`` as the table shows it: inside the music folder it belongs to (its
    name first, so two files of one name in different folders read apart), else in full."""
    parent = os.path.dirname(path)
    for root in sorted(roots, key=len, reverse=True):
        if parent == root or parent.startswith(os.path.join(root, "")):
            return os.path.join(os.path.basename(root) or root, os.path.relpath(parent, root)).removesuffix(f"{os.sep}.")
    return parent


def _under(folder: str) -> ColumnElement[bool]:
    prefix = os.path.join(folder, "")
    # LIKE treats % and _ as wildcards; compare the prefix exactly instead
    return func.substr(Track.path, 1, len(prefix)) == prefix


def _contains(column, value: str) -> ColumnElement[bool]:
    """A JSON list column holds ``value`` (as the JSON encoder writes it; case-insensitive)."""
    return func.lower(cast(column, String)).contains(json.dumps(value).lower(), autoescape=True)


def _status_expr(prediction: type[Prediction]) -> ColumnElement[str]:
    return case(
        (Track.status != TrackStatus.OK, Track.status),
        (Track.confirmed_genres.is_not(None), "accepted"),
        (prediction.id.is_not(None), "review"),
        else_="unclassified",
    )


def _sort_key(column: str, prediction: type[Prediction]) -> ColumnElement:
    title = func.coalesce(Track.title, Track.path)
    return {
        "title": func.lower(title),
        "artist": func.lower(Track.artist),
        "album": func.lower(Track.album),
        "genres": func.lower(cast(Track.genres, String)),
        "predicted": prediction.genre,
        "confidence": prediction.confidence,
        "confirmed": func.lower(cast(Track.confirmed_genres, String)),
        "status": _status_expr(prediction),
        "file": Track.path,
        "folder": Track.path,  # a path sorts by its folder first
    }[column]


def _filtered(query: Select, filters: Filters, model_id: int) -> Select:
    query = query.outerjoin(Prediction, and_(Prediction.track_id == Track.id, Prediction.model_id == model_id))
    scope = [filters.folder] if filters.folder else list(filters.folders)
    query = query.where(or_(*[_under(f) for f in scope])) if scope else query.where(false())
    if filters.genre:
        query = query.where(or_(func.lower(Prediction.genre) == filters.genre.lower(),
                                _contains(Track.confirmed_genres, filters.genre),
                                _contains(Track.genres, filters.genre)))
    if filters.min_confidence > 0:
        query = query.where(Prediction.confidence >= filters.min_confidence)
    if filters.status:
        query = query.where(_status_expr(Prediction) == filters.status)
    if filters.text:
        needle = filters.text.lower()
        query = query.where(or_(*[func.lower(c).contains(needle, autoescape=True)
                                  for c in (Track.title, Track.artist, Track.album, Track.path)]))
    return query


def _model_id(lib: Library) -> int:
    with lib.session() as session:
        model = active_model(session)
        return model.id if model else -1


def track_ids(lib: Library, filters: Filters, sort: str = "title", descending: bool = False) -> list[int]:
    """Ids of the tracks ``filters`` lets through, in table order (nulls last, then by id)."""
    with lib.session() as session:
        key = _sort_key(sort, Prediction)
        order = key.desc() if descending else key.asc()
        query = _filtered(select(Track.id), filters, _model_id(lib)).order_by(key.is_(None), order, Track.id)
        return list(session.scalars(query))


def rows(lib: Library, ids: Sequence[int]) -> dict[int, Row]:
    """The rows of ``ids`` (one query; a page of the table at a time)."""
    model_id = _model_id(lib)
    joined = and_(Prediction.track_id == Track.id, Prediction.model_id == model_id)
    query = (select(Track.id, Track.path, Track.title, Track.artist, Track.album, Track.genres,
                    Track.confirmed_genres, Track.status, Track.error, Prediction.genre, Prediction.confidence)
             .outerjoin(Prediction, joined).where(among(Track.id, ids)))
    with lib.session() as session:
        return {r[0]: Row(*r[:5], list(r[5] or []), r[6], *r[7:]) for r in session.execute(query)}


def genre_choices(lib: Library) -> list[str]:
    """Genres worth offering in a filter or an editor: the active model's labels, then every
    genre users have confirmed, case-insensitively unique, sorted."""
    with lib.session() as session:
        model = active_model(session)
        found = list(model.labels if model else [])
        for confirmed in session.scalars(select(Track.confirmed_genres).where(Track.confirmed_genres.is_not(None))
                                         .distinct()):
            found += confirmed or []
    unique = {g.casefold(): g for g in reversed(found)}
    return sorted(unique.values(), key=str.casefold)


def accept_predictions(lib: Library, track_ids: Iterable[int], min_confidence: float = 0.0,
                       keep_confirmed: bool = True, include_padded: bool | None = None) -> int:
    """Confirm the active model's top genre for ``track_ids`` whose confidence is at least
    ``min_confidence``; ``keep_confirmed`` leaves the user's own choices alone. Returns how many.

    A confidence computed mostly on padding (a track shorter than one window) or on a truncated
    file says little, so a threshold leaves such predictions out unless ``include_padded``; with no
    threshold (the user picked the tracks one by one) they are accepted like any other.
    """
    if include_padded is None:
        include_padded = min_confidence <= 0
    by_genre: dict[str, list[int]] = defaultdict(list)
    with lib.session() as session:
        model = active_model(session)
        if model is None:
            return 0
        query = (select(Prediction.track_id, Prediction.genre).join(Track)
                 .where(Prediction.model_id == model.id, Prediction.confidence >= min_confidence,
                        Track.status == TrackStatus.OK))
        if keep_confirmed:
            query = query.where(Track.confirmed_genres.is_(None))
        if not include_padded:
            query = query.where(Prediction.padded.is_(False), Prediction.truncated.is_(False))
        for track_id, genre in session.execute(query.where(among(Prediction.track_id, track_ids))):
            by_genre[genre].append(track_id)
    for genre, accepted in by_genre.items():
        confirm_genres(lib, accepted, [genre])
    return sum(len(v) for v in by_genre.values())


def accepted_ids(lib: Library, filters: Filters) -> list[int]:
    """Tracks in the folders of ``filters`` whose genres the user has accepted."""
    with lib.session() as session:
        query = _filtered(select(Track.id), Filters(folders=filters.folders, folder=filters.folder),
                          _model_id(lib)).where(Track.confirmed_genres.is_not(None))
        return list(session.scalars(query))


@dataclass(frozen=True)
class TrackDetail:
    """Everything the detail panel shows about one track."""

    row: Row
    duration_s: float | None
    format: str | None
    labels: list[str] = field(default_factory=list)
    ranked: list[tuple[str, float]] = field(default_factory=list)  # most probable first
    window_starts_s: list[float] = field(default_factory=list)
    window_probs: list[list[float]] = field(default_factory=list)  # per window, in ``labels`` order
    padded: bool = False
    descriptors: list[tuple[str, float]] = field(default_factory=list)  # most probable first; never written
    threshold: float | None = None  # a multi-label model's genre threshold


def track_detail(lib: Library, track_id: int) -> TrackDetail | None:
    found = rows(lib, [track_id]).get(track_id)
    if found is None:
        return None
    with lib.session() as session:
        track = session.get(Track, track_id)
        model = active_model(session)
        prediction = None if model is None else session.scalar(
            select(Prediction).where(Prediction.track_id == track_id, Prediction.model_id == model.id))
        if prediction is None:
            return TrackDetail(found, track.duration_s, track.format)
        windows = list(session.scalars(select(WindowPrediction).where(WindowPrediction.prediction_id == prediction.id)
                                       .order_by(WindowPrediction.start_s)))
        return TrackDetail(found, track.duration_s, track.format, list(model.labels), prediction.ranked(),
                           [w.start_s for w in windows], [list(w.probs) for w in windows], prediction.padded,
                           prediction.ranked_descriptors(), model.threshold)
