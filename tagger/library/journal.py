"""The tag-edit journal: journal first, then touch the file; reconcile after a crash; undo.

Every change is committed as a *pending* ``TagEdit`` (old genres, the exact old tag state, new
genres) before its file is written, and marked done or failed after. A kill between the two leaves
pending rows; ``reconcile`` completes or discards the scratch copies the killed run left (named by
catalogue and edit, see ``tagger.tags.scratch``), reads those files back and settles each row as
done (the new value is there) or aborted (the old one is), so the journal always describes the
files. A row it cannot settle is reported and skipped; the rest go on. Undo is itself a journaled
write that restores the exact old state, absence of a genre tag included.

Writes, undos and reconciling hold the catalogue's write lock (``lock``), and a write stops before
the next file once its catalogue is deleted, replaced or made read-only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tagger.library.db import Library, LibraryError, among
from tagger.library.lock import CatalogueHold, write_session
from tagger.library.progress import Cancel, Progress, is_cancelled, report
from tagger.library.schema import (
    EditStatus,
    TagEdit,
    Track,
    WriteSession,
    local_time,
    utcnow,
)
from tagger.tags import (
    GenreState,
    PartialWrite,
    TagError,
    check_writable,
    discard_scratch,
    finish_interrupted,
    read_tags,
    resolved,
    restore_genres,
    write_genres,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Change:
    """One planned genre change. ``restore`` (undo) puts back a raw state instead of ``new_genres``."""

    track_id: int
    path: str
    old_genres: list[str]
    old_state: GenreState
    new_genres: list[str]
    restore: GenreState | None = None
    reverts_id: int | None = None


@dataclass(frozen=True)
class Skip:
    path: str
    reason: str


@dataclass
class EditReport:
    """What a write or undo did; in a dry run, ``changes`` are what it would do."""

    session_id: int | None = None
    dry_run: bool = False
    changes: list[Change] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)  # left alone on purpose
    failed: list[Skip] = field(default_factory=list)  # could not be read or written
    cancelled: bool = False
    recovered: int = 0  # edits an interrupted earlier run left pending, settled first
    stopped: str | None = None  # why the run stopped before its end (the catalogue was lost)
    journal_kept: bool = True  # False when the catalogue holding this run's journal is gone

    def after(self, recovery: EditReport) -> EditReport:
        """This report, preceded by what recovering an interrupted run did."""
        self.recovered = recovery.recovered
        self.failed[:0] = recovery.failed
        return self


def _refresh_track(track: Track, genres: list[str]) -> None:
    """Keep the catalogue in step with a file we just tagged, so a rescan does not re-read it."""
    try:
        st = os.stat(track.path)
    except OSError:
        return  # the next scan notices whatever happened to the file
    track.size, track.mtime_ns, track.genres = st.st_size, st.st_mtime_ns, list(genres)


def _commit(session: Session, rep: EditReport, consequence: str) -> bool:
    """Commit; on a catalogue fault roll back, stop the run with the fault and ``consequence``."""
    try:
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        rep.stopped = rep.stopped or f"the catalogue could not record it ({getattr(exc, 'orig', exc)}); {consequence}"
        return False
    return True


def _apply(session: Session, ws: WriteSession, changes: list[Change], id3_version: int, rep: EditReport,
           after_file: Callable[[], None], cancel: Cancel | None, hold: CatalogueHold) -> None:
    """Journal ``changes`` in one commit, then write each file and record how it went."""
    edits = [TagEdit(session=ws, track_id=c.track_id, path=c.path, old_genres=c.old_genres,
                     old_state=c.old_state, new_genres=c.new_genres, reverts_id=c.reverts_id)
             for c in changes]
    session.add_all(edits)
    if not _commit(session, rep, "the next files were left untouched"):
        return
    for change, edit in zip(changes, edits):
        rep.stopped = rep.stopped or hold.lost()
        rep.journal_kept = hold.journal_kept
        if rep.stopped or rep.cancelled or is_cancelled(cancel):
            rep.cancelled = rep.cancelled or not rep.stopped
            edit.status = EditStatus.ABORTED
            continue
        try:
            if change.restore is not None:
                restore_genres(change.path, change.restore, work=hold.work(edit.id))
            else:
                write_genres(change.path, change.new_genres, id3_version, work=hold.work(edit.id))
        except PartialWrite as exc:  # stays pending: the next start completes it from the kept copy
            rep.failed.append(Skip(change.path, exc.reason))
        except TagError as exc:
            edit.status, edit.error = EditStatus.FAILED, exc.reason
            rep.failed.append(Skip(change.path, exc.reason))
        else:
            edit.status, edit.applied_at = EditStatus.DONE, utcnow()
            _refresh_track(session.get(Track, change.track_id), change.new_genres)
            rep.changes.append(change)
        after_file()
    _commit(session, rep, "the files written stay journaled as pending and the next write or undo settles them")


def run_changes(session: Session, ws: WriteSession | None, items: Sequence[T],
                plan: Callable[[T], Change | Skip], *, hold: CatalogueHold | None = None, id3_version: int = 4,
                progress: Progress | None = None, cancel: Cancel | None = None,
                commit_every: int = 50) -> EditReport:
    """Plan each item, then journal and apply the changes in batches of ``commit_every``.

    ``plan`` returns a ``Change`` or a ``Skip``, or raises ``TagError`` for a file it cannot
    handle. With ``ws=None`` nothing is written: a dry run. A real run needs the ``hold`` of the
    catalogue's write session. A file reached twice (a link and its target, two hard links) is
    changed once.
    """
    rep = EditReport(session_id=ws.id if ws is not None else None, dry_run=ws is None)
    done = 0
    seen: dict[tuple[int, int], str] = {}

    def after_file() -> None:
        nonlocal done
        done += 1
        report(progress, done, len(items))

    batch: list[Change] = []
    for item in items:
        if rep.stopped or is_cancelled(cancel):
            rep.cancelled = not rep.stopped
            break
        try:
            planned = plan(item)
            if isinstance(planned, Change):
                info = os.stat(planned.path)
                first = seen.setdefault((info.st_dev, info.st_ino), planned.path)
                if first != planned.path:
                    planned = Skip(planned.path, f"same file as {first}")
        except TagError as exc:
            planned = None
            rep.failed.append(Skip(str(exc.path), exc.reason))
        except OSError as exc:
            planned = None
            rep.failed.append(Skip(str(exc.filename), exc.strerror or str(exc)))
        if isinstance(planned, Change) and ws is not None:
            batch.append(planned)
            if len(batch) >= commit_every:
                _apply(session, ws, batch, id3_version, rep, after_file, cancel, hold)
                batch = []
            continue
        if isinstance(planned, Change):
            rep.changes.append(planned)
        elif isinstance(planned, Skip):
            rep.skipped.append(planned)
        after_file()
    if batch and not rep.cancelled and not rep.stopped:
        _apply(session, ws, batch, id3_version, rep, after_file, cancel, hold)
    if ws is not None and rep.journal_kept:
        if ws.edits:
            ws.finished_at = utcnow()
        else:  # nothing was journaled: leave no empty session for undo to trip over
            session.delete(ws)
            rep.session_id = None
        _commit(session, rep, "the files written stay journaled as pending and the next write or undo settles them")
    return rep


def recover(lib: Library, hold: CatalogueHold) -> EditReport:
    """Settle the edits a crash or kill left pending, from what the files hold now, and remove the
    scratch copies the killed run left in their folders. Needs the write session's ``hold``."""
    rep = EditReport()
    kept: set[str] = set()
    folders = set()
    with lib.session() as session:
        pending = list(session.scalars(select(TagEdit).where(TagEdit.status == EditStatus.PENDING)))
        for edit in pending:
            work = hold.work(edit.id)
            folders.add(resolved(edit.path).parent)
            try:
                finish_interrupted(edit.path, work)
            except (TagError, OSError) as exc:  # the complete copy stays; a later start tries again
                kept.add(work)
                rep.failed.append(Skip(edit.path, f"interrupted write not completed yet: {_reason(exc)}"))
                continue
            try:
                current = read_tags(edit.path).genres
            except TagError as exc:
                edit.status, edit.error = EditStatus.FAILED, f"interrupted write; {exc.reason}"
                rep.failed.append(Skip(edit.path, edit.error))
                continue
            if current == edit.new_genres:
                edit.status, edit.applied_at = EditStatus.DONE, utcnow()
                if edit.track.path == edit.path:
                    _refresh_track(edit.track, current)
            elif current == edit.old_genres:
                edit.status = EditStatus.ABORTED
            else:
                edit.status, edit.error = EditStatus.FAILED, f"interrupted write; the file now holds {current}"
        session.commit()
    for folder in folders:
        try:
            discard_scratch(folder, hold.work(""), keep=kept)
        except OSError as exc:
            rep.failed.append(Skip(str(folder), f"could not remove an interrupted write's copies: {_reason(exc)}"))
    rep.recovered = len(pending) - len(kept)
    return rep


def _reason(exc: Exception) -> str:
    return exc.reason if isinstance(exc, TagError) else (exc.strerror or str(exc))


def reconcile(lib: Library) -> EditReport:
    """``recover`` under the catalogue's write lock (``WriteLocked`` while a write is running)."""
    with write_session(lib) as hold:
        return recover(lib, hold)


def _revertible() -> Select:
    """Done edits of write sessions that no done undo has reverted yet."""
    undone = select(TagEdit.reverts_id).where(TagEdit.status == EditStatus.DONE, TagEdit.reverts_id.is_not(None))
    return (select(TagEdit).join(WriteSession)
            .where(WriteSession.kind == "write", TagEdit.status == EditStatus.DONE, TagEdit.id.not_in(undone)))


@dataclass(frozen=True)
class SessionSummary:
    id: int
    kind: str  # "write" or "undo"
    started_at: str  # local time
    done: int  # edits applied
    revertible: int  # of those, how many an undo could still revert
    policy: dict


def list_sessions(lib: Library) -> list[SessionSummary]:
    """Write and undo sessions, newest first."""
    with lib.session() as session:
        done = dict(session.execute(select(TagEdit.session_id, func.count())
                                    .where(TagEdit.status == EditStatus.DONE).group_by(TagEdit.session_id)).all())
        open_edits = _revertible().subquery()
        revertible = dict(session.execute(select(open_edits.c.session_id, func.count())
                                          .group_by(open_edits.c.session_id)).all())
        return [SessionSummary(ws.id, ws.kind, f"{local_time(ws.started_at):%Y-%m-%d %H:%M:%S}",
                               done.get(ws.id, 0), revertible.get(ws.id, 0), ws.policy)
                for ws in session.scalars(select(WriteSession).order_by(WriteSession.id.desc()))]


def _edits_to_undo(session: Session, session_id: int | None, track_ids: Iterable[int] | None) -> list[TagEdit]:
    if track_ids is not None:
        open_edits = _revertible().where(among(TagEdit.track_id, track_ids)).subquery()
        newest = select(func.max(open_edits.c.id)).group_by(open_edits.c.track_id)
        return list(session.scalars(select(TagEdit).where(TagEdit.id.in_(newest)).order_by(TagEdit.id.desc())))
    if session_id is None:
        open_edits = _revertible().subquery()
        session_id = session.scalar(select(func.max(open_edits.c.session_id)))
        if session_id is None:
            raise LibraryError("nothing to undo: no write session has changes left to revert")
    elif session.get(WriteSession, session_id) is None:
        raise LibraryError(f"there is no write session {session_id}")
    return list(session.scalars(_revertible().where(TagEdit.session_id == session_id).order_by(TagEdit.id.desc())))


def undo(lib: Library, *, session_id: int | None = None, track_ids: Iterable[int] | None = None,
         force: bool = False, progress: Progress | None = None, cancel: Cancel | None = None,
         commit_every: int = 50) -> EditReport:
    """Revert the newest write session with changes left (or ``session_id``), or the newest
    change of each of ``track_ids``, to the exact previous tag state.

    A file whose genres no longer match what was written is left alone (``skipped``) unless
    ``force``: someone changed it since, and undo must not destroy that.
    """
    with write_session(lib) as hold:
        recovery = recover(lib, hold)
        with lib.session() as session:
            edits = _edits_to_undo(session, session_id, track_ids)
            if not edits:
                return EditReport().after(recovery)
            reverted_sessions = sorted({e.session_id for e in edits})
            ws = WriteSession(kind="undo", policy={"reverts_sessions": reverted_sessions})
            session.add(ws)
            session.commit()

            def plan(edit: TagEdit) -> Change | Skip:
                path = edit.track.path
                info = read_tags(path)
                if info.genres != edit.new_genres and not force:
                    return Skip(path, f"changed since it was written (now {info.genres}, written {edit.new_genres})")
                check_writable(path)
                return Change(edit.track_id, path, info.genres, info.genre_state, edit.old_genres,
                              restore=edit.old_state, reverts_id=edit.id)

            rep = run_changes(session, ws, edits, plan, hold=hold, progress=progress, cancel=cancel,
                              commit_every=commit_every)
    return rep.after(recovery)
