"""The catalogue's tables (SQLAlchemy 2 declarative models).

Lists (genres, probabilities, raw tag states) are JSON columns: they are read and written whole,
never queried inside, and SQLite stores them compactly.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Dialect,
    ForeignKey,
    Index,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Python names a file whose name is not UTF-8 with lone surrogates (U+DC80-U+DCFF, one per raw
# byte), which SQLite cannot store as text. Each is kept as "//XX" (the byte in hex), and a "/"
# that follows a "/" as "//2F", so the text round-trips exactly. Normalised absolute paths never
# hold "//", so every ordinary path is stored as it is and prefix queries on folders still work.
_RAW = re.compile(r"(?<=/)/|[\udc80-\udcff]")
_ESCAPED = re.compile(r"//([0-9A-F]{2})")


def escape_fs_text(text: str) -> str:
    """``text`` (a file path or name, possibly with surrogate-escaped bytes) as storable text."""
    return _RAW.sub(lambda m: "//2F" if m.group() == "/" else f"//{ord(m.group()) - 0xDC00:02X}", text)


def unescape_fs_text(stored: str) -> str:
    """The exact text ``escape_fs_text`` was given."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16) + (0xDC00 if int(m.group(1), 16) >= 0x80 else 0)), stored)


class FsText(TypeDecorator):
    """Text that may hold file names: undecodable bytes are stored escaped, read back exactly."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect | None) -> str | None:
        return None if value is None else escape_fs_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect | None) -> str | None:
        return None if value is None else unescape_fs_text(value)


def utcnow() -> datetime:
    """Naive UTC, as SQLite stores it; ``local_time`` turns it into the user's clock for display."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def local_time(stamp: datetime) -> datetime:
    return stamp.replace(tzinfo=timezone.utc).astimezone()


class Base(DeclarativeBase):
    # none_as_null: Python None is SQL NULL (not the JSON text "null"), so IS NULL queries work
    type_annotation_map = {list[Any]: JSON(none_as_null=True), dict[str, Any]: JSON(none_as_null=True)}


class TrackStatus:
    """Values of ``Track.status``."""

    OK = "ok"
    UNREADABLE = "unreadable"  # tags or audio could not be read; ``error`` says why
    MISSING = "missing"  # gone from disk at the last scan of its folder; kept, never dropped


class EditStatus:
    """Values of ``TagEdit.status``: journaled first, then the file is touched."""

    PENDING = "pending"  # committed before the write; resolved by ``reconcile`` after a crash
    DONE = "done"
    FAILED = "failed"  # the file was left as it was; ``error`` says why
    ABORTED = "aborted"  # cancelled or killed before the file was touched


class Track(Base):
    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(FsText, unique=True)
    size: Mapped[int]
    mtime_ns: Mapped[int]
    duration_s: Mapped[float | None]
    format: Mapped[str | None]
    title: Mapped[str | None]
    artist: Mapped[str | None]
    album: Mapped[str | None]
    genres: Mapped[list[Any]] = mapped_column(default=list)
    confirmed_genres: Mapped[list[Any] | None]
    status: Mapped[str] = mapped_column(default=TrackStatus.OK, index=True)
    error: Mapped[str | None] = mapped_column(FsText)  # reasons may quote a file name
    moved_from: Mapped[str | None] = mapped_column(FsText)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    scanned_at: Mapped[datetime] = mapped_column(default=utcnow)
    missing_since: Mapped[datetime | None]

    predictions: Mapped[list[Prediction]] = relationship(back_populates="track", cascade="all, delete-orphan")


class BundleRecord(Base):
    """A model bundle the app has used; ``active`` marks the one whose predictions count."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[str] = mapped_column(unique=True)
    labels: Mapped[list[Any]]  # the genres it tells apart, in the order of a prediction's ``probs``
    #: a multi-label model's descriptors (eras, moods, voices): shown, never written as a genre
    descriptors: Mapped[list[Any]] = mapped_column(default=list)
    threshold: Mapped[float | None]  # a multi-label model's genre threshold; None for a distribution
    source: Mapped[str | None]  # the bundle path; None for the shipped default
    active: Mapped[bool] = mapped_column(default=False)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)


class Prediction(Base):
    """A track's genre distribution (mean over its windows) from one model."""

    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("track_id", "model_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    genre: Mapped[str]
    confidence: Mapped[float]
    probs: Mapped[list[Any]]
    descriptor_probs: Mapped[list[Any]] = mapped_column(default=list)  # in the model's ``descriptors`` order
    n_windows: Mapped[int]
    padded: Mapped[bool]  # some analysed window was zero-padded: the track is shorter than one window
    #: share of the analysed samples that are real audio (below 1 when padded)
    audio_fraction: Mapped[float] = mapped_column(default=1.0)
    truncated: Mapped[bool] = mapped_column(default=False)  # the file ends before its header says
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    track: Mapped[Track] = relationship(back_populates="predictions")
    model: Mapped[BundleRecord] = relationship()
    windows: Mapped[list[WindowPrediction]] = relationship(cascade="all, delete-orphan")

    def ranked(self) -> list[tuple[str, float]]:
        """(genre, probability) pairs, most probable first: genres only, never descriptors."""
        return sorted(zip(self.model.labels, self.probs), key=lambda pair: -pair[1])

    def ranked_descriptors(self) -> list[tuple[str, float]]:
        return sorted(zip(self.model.descriptors, self.descriptor_probs), key=lambda pair: -pair[1])


class WindowPrediction(Base):
    __tablename__ = "window_predictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    prediction_id: Mapped[int] = mapped_column(ForeignKey("predictions.id", ondelete="CASCADE"), index=True)
    start_s: Mapped[float]
    probs: Mapped[list[Any]]


class WriteSession(Base):
    """One run of ``write`` or ``undo``; its edits form the unit that ``undo`` reverts."""

    __tablename__ = "write_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str]  # "write" or "undo"
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    edits: Mapped[list[TagEdit]] = relationship(back_populates="session", order_by="TagEdit.id")


class TagEdit(Base):
    """The journal: one genre change of one file, with the exact previous state for undo."""

    __tablename__ = "tag_edits"
    __table_args__ = (Index("ix_tag_edits_track_status", "track_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("write_sessions.id"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id"))
    path: Mapped[str] = mapped_column(FsText)  # where the file was when edited
    old_genres: Mapped[list[Any]]
    old_state: Mapped[dict[str, Any]]  # tagger.tags GenreState, restored verbatim by undo
    new_genres: Mapped[list[Any]]
    reverts_id: Mapped[int | None] = mapped_column(ForeignKey("tag_edits.id"), index=True)
    status: Mapped[str] = mapped_column(default=EditStatus.PENDING)
    error: Mapped[str | None] = mapped_column(FsText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]

    session: Mapped[WriteSession] = relationship(back_populates="edits")
    track: Mapped[Track] = relationship()


class Playlist(Base):
    __tablename__ = "playlists"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(FsText, unique=True)
    name: Mapped[str] = mapped_column(FsText)
    size: Mapped[int]
    mtime_ns: Mapped[int]
    status: Mapped[str] = mapped_column(default=TrackStatus.OK)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    entries: Mapped[list[PlaylistEntry]] = relationship(
        cascade="all, delete-orphan", order_by="PlaylistEntry.position"
    )


class PlaylistEntry(Base):
    __tablename__ = "playlist_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlists.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    location: Mapped[str] = mapped_column(FsText)  # as written in the playlist
    path: Mapped[str | None] = mapped_column(FsText)  # the local file it points to; None for URLs
    title: Mapped[str | None]
    track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id", ondelete="SET NULL"), index=True)


class ProfileSnapshot(Base):
    """A taste profile as it was at ``taken_at`` (``tagger.profile.Profile.to_dict``)."""

    __tablename__ = "profile_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    weighting: Mapped[str]
    data: Mapped[dict[str, Any]]
