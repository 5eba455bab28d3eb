"""Library queries: each filter and the review status say once what they mean, in SQL and in Python.

As in beets' ``library/queries.py``, a query gives a SQLAlchemy clause (``clause()``) that the
listing, accepting and exporting run in the catalogue, and ``match(row)`` that says the same of a
``Row`` already loaded. Clauses read ``Track`` and the active model's ``Prediction``, outer-joined
by ``catalogue_select``: a track the model has not judged has NULL there, which every clause treats
as Python treats ``None``: no match. Text compares case-insensitively through the catalogue's
``casefold`` SQL function, which is Python's ``str.casefold``, so both sides fold alike.

Queries combine with ``&``, ``|`` and ``~``.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import (
    LargeBinary,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from tagger.library.classify import active_model
from tagger.library.db import among
from tagger.library.schema import Prediction, Track, TrackStatus, escape_fs_text


@dataclass(frozen=True)
class Row:
    """One catalogue track as listed: what a query's Python meaning reads."""

    track_id: int
    path: str
    title: str | None
    artist: str | None
    album: str | None
    format: str | None
    genres: list[str]  # what the file holds
    confirmed: list[str] | None  # what the user accepted or chose
    status: str  # ``TrackStatus``: whether the file could be read
    error: str | None
    predicted: str | None  # the active model's top genre
    confidence: float | None
    padded: bool | None  # the prediction rests on padding (None: no prediction)
    truncated: bool | None

    @property
    def review_status(self) -> str:
        """One of ``STATUSES``."""
        return next(key for key, query in _DECIDED_BY if query.match(self))

    @property
    def shown_status(self) -> str:
        """The review status as shown, where "written" sets apart accepted genres the file already
        holds. It is not a status a query selects: the catalogue keeps genre lists as JSON text,
        which SQL cannot compare item by item the way Python does."""
        status = self.review_status
        in_file = [g.casefold() for g in self.genres]
        return "written" if status == "accepted" and [g.casefold() for g in self.confirmed or []] == in_file else status


#: The columns a ``Row`` is made of, in its fields' order.
ROW_COLUMNS = (Track.id, Track.path, Track.title, Track.artist, Track.album, Track.format, Track.genres,
               Track.confirmed_genres, Track.status, Track.error, Prediction.genre, Prediction.confidence,
               Prediction.padded, Prediction.truncated)


def to_row(values: Iterable) -> Row:
    """A ``Row`` from the values of ``ROW_COLUMNS``."""
    track_id, path, title, artist, album, fmt, genres, *rest = values
    return Row(track_id, path, title, artist, album, fmt, list(genres or []), *rest)


def active_model_id(session: Session) -> int:
    """The active model's id; -1 (no model's) when there is none, so the join finds nothing."""
    model = active_model(session)
    return model.id if model else -1


def catalogue_select(model_id: int, *columns: ColumnElement) -> Select:
    """``SELECT columns`` over every track with model ``model_id``'s prediction joined: what every
    query's clause is written against."""
    return (select(*columns).select_from(Track)
            .outerjoin(Prediction, and_(Prediction.track_id == Track.id, Prediction.model_id == model_id)))


def _folded(value: str | None) -> str | None:
    return None if value is None else value.casefold()


def _fold(column: ColumnElement) -> ColumnElement[str]:
    """``column`` case-folded as Python folds it: by SQLite's own ``lower()`` where the text is
    ASCII (one byte a character: the same result, without a call into Python for each row), else
    by ``casefold``."""
    beyond_ascii = func.length(cast(column, LargeBinary)) != func.length(column)
    return case((beyond_ascii, func.casefold(column, type_=String)), else_=func.lower(column, type_=String))


class Query(ABC):
    """A condition on a catalogue track, in SQL and in Python."""

    @abstractmethod
    def clause(self) -> ColumnElement[bool]:
        """The condition as SQL over ``catalogue_select``."""

    @abstractmethod
    def match(self, row: Row) -> bool:
        """The same condition on a loaded row."""

    def __and__(self, other: Query) -> Query:
        return And((self, other))

    def __or__(self, other: Query) -> Query:
        return Or((self, other))

    def __invert__(self) -> Query:
        return Not(self)


@dataclass(frozen=True)
class Everything(Query):
    def clause(self) -> ColumnElement[bool]:
        return true()

    def match(self, row: Row) -> bool:
        return True


@dataclass(frozen=True)
class And(Query):
    parts: tuple[Query, ...]

    def clause(self) -> ColumnElement[bool]:
        return and_(*[q.clause() for q in self.parts]) if self.parts else true()

    def match(self, row: Row) -> bool:
        return all(q.match(row) for q in self.parts)


@dataclass(frozen=True)
class Or(Query):
    parts: tuple[Query, ...]

    def clause(self) -> ColumnElement[bool]:
        return or_(*[q.clause() for q in self.parts]) if self.parts else false()

    def match(self, row: Row) -> bool:
        return any(q.match(row) for q in self.parts)


@dataclass(frozen=True)
class Not(Query):
    part: Query

    def clause(self) -> ColumnElement[bool]:
        # a clause on a missing prediction is NULL, and NOT NULL is NULL: count it as no match first
        return not_(func.coalesce(self.part.clause(), False))

    def match(self, row: Row) -> bool:
        return not self.part.match(row)


@dataclass(frozen=True)
class TrackIds(Query):
    """The tracks picked one by one (a selection in the window, files named on the command line)."""

    ids: frozenset[int]

    def __init__(self, ids: Iterable[int]) -> None:
        object.__setattr__(self, "ids", frozenset(ids))

    def clause(self) -> ColumnElement[bool]:
        return among(Track.id, self.ids)

    def match(self, row: Row) -> bool:
        return row.track_id in self.ids


@dataclass(frozen=True)
class FileState(Query):
    """The file could be read (``TrackStatus.OK``), could not, or is gone."""

    state: str

    def clause(self) -> ColumnElement[bool]:
        return Track.status == self.state

    def match(self, row: Row) -> bool:
        return row.status == self.state


@dataclass(frozen=True)
class Confirmed(Query):
    """The user has accepted or chosen genres for the track."""

    def clause(self) -> ColumnElement[bool]:
        return func.coalesce(func.json_array_length(Track.confirmed_genres), 0) > 0

    def match(self, row: Row) -> bool:
        return bool(row.confirmed)


@dataclass(frozen=True)
class Predicted(Query):
    """The active model has judged the track."""

    def clause(self) -> ColumnElement[bool]:
        return Prediction.id.is_not(None)

    def match(self, row: Row) -> bool:
        return row.predicted is not None


#: Review statuses as the window's filter offers them (key -> title).
STATUSES: dict[str, str] = {
    "unclassified": "Not classified",
    "review": "To review",
    "accepted": "Accepted",
    "unreadable": "Unreadable",
    "missing": "Missing",
}
#: The one definition of a track's review status: the first of these whose query matches.
_DECIDED_BY: tuple[tuple[str, Query], ...] = (
    ("unreadable", FileState(TrackStatus.UNREADABLE)),
    ("missing", FileState(TrackStatus.MISSING)),
    ("accepted", Confirmed()),
    ("review", Predicted()),
    ("unclassified", Everything()),
)


def status_expr() -> ColumnElement[str]:
    """A track's review status as a SQL value (to filter and to sort by)."""
    *decided, (otherwise, _) = _DECIDED_BY
    return case(*[(query.clause(), key) for key, query in decided], else_=otherwise)


@dataclass(frozen=True)
class Status(Query):
    """The track's review status is ``status`` (a key of ``STATUSES``)."""

    status: str

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}: one of {', '.join(STATUSES)}")

    def clause(self) -> ColumnElement[bool]:
        return status_expr() == self.status

    def match(self, row: Row) -> bool:
        return row.review_status == self.status


def _holds(column: ColumnElement, folded: str) -> ColumnElement[bool]:
    """A JSON list column holds an item that folds to ``folded``."""
    item = func.json_each(column).table_valued("value")
    return exists(select(1).select_from(item).where(_fold(item.c.value) == folded))


@dataclass(frozen=True)
class Genre(Query):
    """The genre is predicted as the top genre, accepted, or in the file (any case)."""

    name: str

    def clause(self) -> ColumnElement[bool]:
        folded = self.name.casefold()
        return or_(_fold(Prediction.genre) == folded,
                   _holds(Track.confirmed_genres, folded), _holds(Track.genres, folded))

    def match(self, row: Row) -> bool:
        folded = self.name.casefold()
        return (_folded(row.predicted) == folded or any(g.casefold() == folded for g in row.confirmed or [])
                or any(g.casefold() == folded for g in row.genres))


@dataclass(frozen=True)
class Confidence(Query):
    """The prediction's confidence is within [``at_least``, ``at_most``] (either end open)."""

    at_least: float | None = None
    at_most: float | None = None

    def clause(self) -> ColumnElement[bool]:
        parts = [Prediction.confidence.is_not(None)]
        if self.at_least is not None:
            parts.append(Prediction.confidence >= self.at_least)
        if self.at_most is not None:
            parts.append(Prediction.confidence <= self.at_most)
        return and_(*parts)

    def match(self, row: Row) -> bool:
        c = row.confidence
        return (c is not None and (self.at_least is None or c >= self.at_least)
                and (self.at_most is None or c <= self.at_most))


@dataclass(frozen=True)
class Folder(Query):
    """The file lies under one of ``folders`` (whole folder names; none given: no file)."""

    folders: tuple[str, ...]

    def _prefixes(self) -> list[str]:
        return [os.path.join(folder, "") for folder in self.folders]

    def clause(self) -> ColumnElement[bool]:
        # paths are stored escaped (see ``FsText``), and LIKE would treat % and _ as wildcards:
        # compare the escaped prefix exactly
        stored = [escape_fs_text(p) for p in self._prefixes()]
        return or_(*[func.substr(Track.path, 1, len(p), type_=String) == p for p in stored]) if stored else false()

    def match(self, row: Row) -> bool:
        return any(row.path.startswith(p) for p in self._prefixes())


@dataclass(frozen=True)
class Text(Query):
    """Title, artist, album or path contains ``text`` (any case). Paths are searched as the
    catalogue stores them (``FsText``), so a name that is not UTF-8 is found by its own bytes."""

    text: str

    def _needles(self) -> tuple[str | None, str]:
        """What to look for in the tags (None: nothing can match, since text read from tags is
        always valid Unicode) and in the stored path."""
        try:
            in_tags: str | None = self.text.encode("utf-8") and self.text.casefold()
        except UnicodeEncodeError:  # bytes of a name that is not UTF-8
            in_tags = None
        return in_tags, escape_fs_text(self.text).casefold()

    def clause(self) -> ColumnElement[bool]:
        in_tags, in_path = self._needles()
        parts = [_fold(Track.path).contains(in_path, autoescape=True)]
        if in_tags is not None:
            parts += [_fold(c).contains(in_tags, autoescape=True)
                      for c in (Track.title, Track.artist, Track.album)]
        return or_(*parts)

    def match(self, row: Row) -> bool:
        in_tags, in_path = self._needles()
        return in_path in escape_fs_text(row.path).casefold() or (
            in_tags is not None and any(in_tags in (v or "").casefold() for v in (row.title, row.artist, row.album)))


@dataclass(frozen=True)
class Format(Query):
    """The file's format as the scan read it (``mp3``, ``flac``, ``mp4``, ...; any case)."""

    name: str

    def clause(self) -> ColumnElement[bool]:
        return _fold(Track.format) == self.name.casefold()

    def match(self, row: Row) -> bool:
        return _folded(row.format) == self.name.casefold()


@dataclass(frozen=True)
class Padded(Query):
    """The prediction rests mostly on padding: the track is shorter than one window."""

    def clause(self) -> ColumnElement[bool]:
        return Prediction.padded.is_(True)

    def match(self, row: Row) -> bool:
        return bool(row.padded)


@dataclass(frozen=True)
class Truncated(Query):
    """The prediction was made on a file that ends before its header says."""

    def clause(self) -> ColumnElement[bool]:
        return Prediction.truncated.is_(True)

    def match(self, row: Row) -> bool:
        return bool(row.truncated)


def untrusted() -> Query:
    """Predictions whose confidence says little (see ``tagger.library.classify.caveat``)."""
    return Padded() | Truncated()

