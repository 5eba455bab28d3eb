"""The catalogue as a list: filtered, sorted track ids, their rows a page at a time, one track's
detail. The window's table and ``genre-tagger list`` read the library through these.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from tagger.library.classify import active_model
from tagger.library.db import Library, among
from tagger.library.queries import (
    ROW_COLUMNS,
    And,
    Confidence,
    Folder,
    Format,
    Genre,
    Padded,
    Query,
    Row,
    Status,
    Text,
    Truncated,
    active_model_id,
    catalogue_select,
    status_expr,
    to_row,
)
from tagger.library.schema import Prediction, Track, WindowPrediction


@dataclass(frozen=True)
class Filters:
    """The filters the window's table and ``genre-tagger list`` offer. ``folders`` are where to look
    (the window's music folders; ``None``: the whole catalogue, an empty tuple: nothing);
    ``folder`` narrows to one folder; a zero ``min_confidence`` and an empty ``text`` filter nothing."""

    folders: tuple[str, ...] | None = None
    folder: str | None = None
    genre: str | None = None
    min_confidence: float = 0.0
    max_confidence: float | None = None
    status: str | None = None
    text: str = ""
    format: str | None = None
    padded: bool = False  # only predictions resting on padding
    truncated: bool = False  # only predictions made on truncated files

    def query(self) -> Query:
        parts: list[Query] = []
        if self.folders is not None:
            parts.append(Folder(tuple(self.folders)))
        if self.folder:
            parts.append(Folder((self.folder,)))
        if self.genre:
            parts.append(Genre(self.genre))
        if self.min_confidence > 0 or self.max_confidence is not None:
            parts.append(Confidence(self.min_confidence if self.min_confidence > 0 else None, self.max_confidence))
        if self.status:
            parts.append(Status(self.status))
        if self.text:
            parts.append(Text(self.text))
        if self.format:
            parts.append(Format(self.format))
        if self.padded:
            parts.append(Padded())
        if self.truncated:
            parts.append(Truncated())
        return And(tuple(parts))


#: What a listing can be sorted by: key -> SQL value (a path sorts by its folder first).
SORT_KEYS: dict[str, ColumnElement] = {
    "title": func.lower(func.coalesce(Track.title, Track.path)),
    "artist": func.lower(Track.artist),
    "album": func.lower(Track.album),
    "genres": func.lower(cast(Track.genres, String)),
    "predicted": Prediction.genre,
    "confidence": Prediction.confidence,
    "confirmed": func.lower(cast(Track.confirmed_genres, String)),
    "status": status_expr(),
    "file": Track.path,
    "folder": Track.path,
}


def _listed(session: Session, columns: Sequence[ColumnElement], query: Query, sort: str, descending: bool) -> Select:
    """``columns`` of the tracks ``query`` selects, sorted by ``sort`` (nulls last, then by id)."""
    key = SORT_KEYS[sort]
    return (catalogue_select(active_model_id(session), *columns).where(query.clause())
            .order_by(key.is_(None), key.desc() if descending else key.asc(), Track.id))


def track_ids(lib: Library, query: Query, sort: str = "title", descending: bool = False) -> list[int]:
    """Ids of the tracks ``query`` selects, in listing order."""
    with lib.session() as session:
        return list(session.scalars(_listed(session, [Track.id], query, sort, descending)))


def list_rows(lib: Library, query: Query, sort: str = "file", descending: bool = False) -> list[Row]:
    """Every row ``query`` selects, in listing order."""
    with lib.session() as session:
        return [to_row(r) for r in session.execute(_listed(session, ROW_COLUMNS, query, sort, descending))]


def rows(lib: Library, ids: Sequence[int]) -> dict[int, Row]:
    """The rows of ``ids`` (one query; a page of the table at a time)."""
    with lib.session() as session:
        found = catalogue_select(active_model_id(session), *ROW_COLUMNS).where(among(Track.id, ids))
        return {r[0]: to_row(r) for r in session.execute(found)}


def folder_of(path: str, roots: Sequence[str]) -> str:
    """The folder of ``path`` as a listing shows it: inside the music folder it belongs to (its
    name first, so two files of one name in different folders read apart), else in full."""
    parent = os.path.dirname(path)
    for root in sorted(roots, key=len, reverse=True):
        if parent == root or parent.startswith(os.path.join(root, "")):
            return os.path.join(os.path.basename(root) or root, os.path.relpath(parent, root)).removesuffix(f"{os.sep}.")
    return parent


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
