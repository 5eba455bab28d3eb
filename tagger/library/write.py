"""Writing genres into the files of the catalogue, by a policy, through the journal.

The genres proposed for a track are the user's confirmed genres when there are any, otherwise the
active model's most probable labels at or above ``min_confidence`` (at most ``max_genres``; by
default the model's own rule). The
policy then decides against what the file holds *now* (read again just before writing): fill only
empty genres (default), replace, or append.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from typing import Literal

from sqlalchemy import and_, or_, select

from tagger.genres import DEFAULT_MAX_GENRES
from tagger.library.classify import active_model
from tagger.library.db import Library, LibraryError, among
from tagger.library.journal import Change, EditReport, Skip, recover, run_changes
from tagger.library.lock import write_session
from tagger.library.progress import Cancel, Progress
from tagger.library.schema import Prediction, Track, TrackStatus, WriteSession
from tagger.options import WRITE_MODES
from tagger.tags import check_writable, read_tags

Mode = Literal["empty", "replace", "append"]
MODES: tuple[Mode, ...] = WRITE_MODES


def _folded(genres: Iterable[str]) -> list[str]:
    return [g.casefold() for g in genres]


@dataclass(frozen=True)
class WritePolicy:
    """How predictions become written genres. ``min_confidence`` and ``max_genres`` left at None
    follow the model's own rule, the one ``classify`` shows (``tagger.genres.pick``): a multi-label
    model's genres at or above its threshold, at most ``DEFAULT_MAX_GENRES``; a distribution's top
    genre whatever its score."""

    mode: Mode = "empty"
    min_confidence: float | None = None
    max_genres: int | None = None
    id3_version: int = 4  # 3 for players that cannot read ID3v2.4 (MP3, WAV, AIFF)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.max_genres is not None and self.max_genres < 1:
            raise ValueError("max_genres must be at least 1")
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError("min_confidence must be between 0 and 1")
        if self.id3_version not in (3, 4):
            raise ValueError("id3_version must be 3 or 4")

    def for_model(self, threshold: float | None) -> WritePolicy:
        """This policy with the limits left to the model filled in from its ``threshold`` (None: a
        model whose probabilities are one distribution)."""
        own_confidence, own_count = (0.0, 1) if threshold is None else (threshold, DEFAULT_MAX_GENRES)
        return replace(self, min_confidence=own_confidence if self.min_confidence is None else self.min_confidence,
                       max_genres=own_count if self.max_genres is None else self.max_genres)

    def proposal(self, confirmed: list[str] | None, ranked: list[tuple[str, float]]) -> list[str]:
        """The genres this policy would write for a track, before looking at the file."""
        if confirmed:
            return list(confirmed)
        return [label for label, p in ranked if p >= self.min_confidence][: self.max_genres]

    def decide(self, current: list[str], proposed: list[str]) -> tuple[list[str] | None, str]:
        """The new genre list (or None to leave the file alone) and why."""
        if not proposed:
            return None, f"no genre at confidence {self.min_confidence:.2f} or more"
        if self.mode == "empty":
            return (None, "already has a genre") if current else (proposed, "was empty")
        if self.mode == "replace":
            return (None, "already has these genres") if _folded(current) == _folded(proposed) else (proposed, "replaced")
        added = [g for g in proposed if g.casefold() not in _folded(current)]
        return (current + added, "appended") if added else (None, "already has these genres")


def write_library(lib: Library, policy: WritePolicy = WritePolicy(), *, dry_run: bool = False,
                  track_ids: Iterable[int] | None = None, progress: Progress | None = None,
                  cancel: Cancel | None = None, commit_every: int = 50) -> EditReport:
    """Apply ``policy`` to every OK track with confirmed genres or a prediction by the active model
    (or only to ``track_ids``), holding the catalogue's write lock (``WriteLocked`` if another write
    runs). A dry run reads the files and reports, and writes nothing (nor settles an interrupted run)."""
    with nullcontext() if dry_run else write_session(lib) as hold:
        recovery = EditReport() if hold is None else recover(lib, hold)
        with lib.session() as session:
            model = active_model(session)
            policy = policy.for_model(model.threshold if model else None)
            joined = and_(Prediction.track_id == Track.id, Prediction.model_id == (model.id if model else -1))
            query = (select(Track, Prediction).outerjoin(Prediction, joined)
                     .where(Track.status == TrackStatus.OK,
                            or_(Prediction.id.is_not(None), Track.confirmed_genres.is_not(None)))
                     .order_by(Track.path))
            if track_ids is not None:
                query = query.where(among(Track.id, track_ids))
            candidates = session.execute(query).all()
            if not candidates and model is None:
                raise LibraryError("no predictions yet: run classify first")
            ws = None
            if hold is not None:
                ws = WriteSession(kind="write", policy=asdict(policy), model_id=model.id if model else None)
                session.add(ws)
                session.commit()

            def plan(row: tuple[Track, Prediction | None]) -> Change | Skip:
                track, prediction = row
                info = read_tags(track.path)
                if not info.writable:
                    return Skip(track.path, f"{info.format} files carry no genre tag")
                proposed = policy.proposal(track.confirmed_genres, prediction.ranked() if prediction else [])
                new, reason = policy.decide(info.genres, proposed)
                if new is None:
                    return Skip(track.path, reason)
                check_writable(track.path)
                return Change(track.id, track.path, info.genres, info.genre_state, new)

            rep = run_changes(session, ws, candidates, plan, hold=hold, id3_version=policy.id3_version,
                              progress=progress, cancel=cancel, commit_every=commit_every)
    return rep.after(recovery)
