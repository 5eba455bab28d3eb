"""Scanning folders into the catalogue.

A file whose size and modification time match the catalogue is not opened again, so a rescan
costs one ``stat`` per file. A file that disappeared is marked missing (never deleted); a new file
with the size and mtime of exactly one vanished file is taken as that file moved or renamed, and
keeps its predictions, journal and playlist links, even across folders.

One file never stops a scan: links that lead nowhere or round in a loop, FIFOs and devices (never
opened: opening a FIFO blocks) and files that are not what their name says are listed with a
reason; names that are not UTF-8 are catalogued as they are (``tagger.library.schema.FsText``).
"""

from __future__ import annotations

import os
import stat
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tagger.library.db import Library, LibraryError
from tagger.library.playlists import (
    PLAYLIST_EXTENSIONS,
    import_playlist,
    relink_entries,
)
from tagger.library.progress import Cancel, Progress, is_cancelled, report
from tagger.library.schema import Playlist, Track, TrackStatus, utcnow
from tagger.tags import TagInfo, UnreadableTags, read_tags
from trainer.runtime.audio import AUDIO_EXTENSIONS, UnreadableAudio, decodable_duration
from trainer.runtime.audio.decode import not_regular, unreachable
from trainer.runtime.audio.sniff import misnamed, sniff, truncation, why_undecodable

#: A re-read file whose duration moved by more than this has new audio: its predictions go.
DURATION_TOLERANCE_S = 0.05


@dataclass
class ScanReport:
    found: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: list[tuple[str, str]] = field(default_factory=list)  # (old path, new path)
    missing: list[str] = field(default_factory=list)  # newly marked missing
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), read this scan
    damaged: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): catalogued, but faulty
    playlists: int = 0  # imported or refreshed
    cancelled: bool = False


@dataclass(frozen=True)
class _OnDisk:
    path: str
    size: int
    mtime_ns: int


def _walk(roots: list[Path]) -> tuple[list[_OnDisk], list[_OnDisk], list[tuple[str, str]]]:
    """Audio files (sorted) and playlists under ``roots``, and (path, reason) for entries named
    like them that are not regular files one can read; hidden files and folders (".*") are
    skipped, and a folder given twice or inside another given folder is walked once."""
    audio: list[_OnDisk] = []
    playlists: list[_OnDisk] = []
    problems: list[tuple[str, str]] = []
    stack = [str(r) for r in dict.fromkeys(roots) if not any(r != o and r.is_relative_to(o) for o in roots)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue  # an unreadable folder is not the user's music
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
                continue
            suffix = os.path.splitext(entry.name)[1].lower()
            bucket = audio if suffix in AUDIO_EXTENSIONS else playlists if suffix in PLAYLIST_EXTENSIONS else None
            if bucket is None:
                continue
            try:
                st = entry.stat()
            except OSError as exc:
                problems.append((entry.path, unreachable(Path(entry.path), exc)))
                continue
            if not stat.S_ISREG(st.st_mode):
                problems.append((entry.path, not_regular(st.st_mode)))
                continue
            bucket.append(_OnDisk(entry.path, st.st_size, st.st_mtime_ns))
    return sorted(audio, key=lambda f: f.path), playlists, sorted(problems)


def _under(path: str, roots: list[str]) -> bool:
    return any(path.startswith(root) for root in roots)


def _moved_from(by_stat: dict[tuple[int, int], list[tuple[int, str]]], file: _OnDisk, on_disk: set[str],
                claimed: set[int]) -> int | None:
    """The id of the one known track, anywhere, whose file is gone and had this size and mtime."""
    gone = [tid for tid, path in by_stat.get((file.size, file.mtime_ns), [])
            if tid not in claimed and path not in on_disk and not os.path.exists(path)]
    return gone[0] if len(gone) == 1 else None


def _apply_tags(track: Track, info: TagInfo) -> None:
    track.title, track.artist, track.album = info.title, info.artist, info.album
    track.genres, track.format = info.genres, info.format
    audio_changed = track.duration_s is not None and (
        info.duration_s is None or abs(info.duration_s - track.duration_s) > DURATION_TOLERANCE_S
    )
    if audio_changed:
        track.predictions = []
    track.duration_s = info.duration_s
    track.status, track.error = TrackStatus.OK, None


def _unreadable_tags(path: str, reason: str) -> tuple[str, TagInfo | None]:
    """When the tag reader fails: what the file really is, and for audio that is only misnamed
    (FLAC named .mp3), the stream facts that let it be classified all the same."""
    try:
        found = sniff(path)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}", None
    if found.kind is None or truncation(path, found) is not None:
        return why_undecodable(path), None
    named = misnamed(path, found)
    if named is None:  # the tag reader's own words may be internal; say what is known instead
        return f"damaged {found.what}: its tags cannot be read", None
    try:
        duration = decodable_duration(path)
    except UnreadableAudio:
        return f"{named}, and it does not decode", None
    return f"{named}: catalogued without its tags (rename it to read and write them)", \
        TagInfo(None, None, None, [], duration, found.kind, writable=False)


def _truncated_duration(path: str, info: TagInfo) -> tuple[TagInfo, str | None]:
    """A file whose header declares more than it holds gets the duration that decodes."""
    try:
        cut = truncation(path)
        if cut is None:
            return info, None
        duration = decodable_duration(path)
    except (OSError, UnreadableAudio):
        return info, None  # the tag reader could read it; classifying will say what is wrong
    claimed = f" of the {info.duration_s:.1f} s its header claims" if info.duration_s else ""
    return replace(info, duration_s=duration), f"truncated: {cut[0]:,} of {cut[1]:,} bytes; {duration:.1f} s decode{claimed}"


def _read_into(track: Track, file: _OnDisk, rep: ScanReport) -> None:
    track.size, track.mtime_ns, track.scanned_at = file.size, file.mtime_ns, utcnow()
    track.missing_since = None
    try:
        info, note = _truncated_duration(file.path, read_tags(file.path))
    except UnreadableTags as exc:
        note, info = _unreadable_tags(file.path, exc.reason)
    except OSError as exc:
        note, info = f"cannot read: {exc.strerror or exc}", None
    if info is None:
        track.status, track.error = TrackStatus.UNREADABLE, note
        track.predictions = []
        rep.unreadable.append((file.path, note))
        return
    _apply_tags(track, info)
    if note is not None:
        track.error = note
        rep.damaged.append((file.path, note))


def _scan_playlists(session: Session, files: list[_OnDisk], roots: list[str], rep: ScanReport) -> None:
    known = {p.path: p for p in session.scalars(select(Playlist))}
    track_ids = {path: tid for path, tid in session.execute(select(Track.path, Track.id))}
    for file in files:
        old = known.get(file.path)
        if old and (old.size, old.mtime_ns, old.status) == (file.size, file.mtime_ns, TrackStatus.OK):
            continue
        try:
            import_playlist(session, Path(file.path), file.size, file.mtime_ns, track_ids)
            rep.playlists += 1
        except OSError as exc:
            rep.unreadable.append((file.path, f"cannot read playlist: {exc.strerror or exc}"))
    on_disk = {f.path for f in files}
    for path, playlist in known.items():
        if _under(path, roots) and path not in on_disk:
            playlist.status = TrackStatus.MISSING
    relink_entries(session)


def scan(lib: Library, folders: Iterable[Path | str], progress: Progress | None = None,
         cancel: Cancel | None = None, commit_every: int = 200) -> ScanReport:
    """Add or refresh every audio file and playlist under ``folders``; see the module doc."""
    roots = [Path(f).expanduser().resolve() for f in folders]
    for root in roots:
        if not root.is_dir():
            raise LibraryError(f"{root} is not a folder")
    prefixes = [os.path.join(str(r), "") for r in roots]
    audio, playlist_files, problems = _walk(roots)
    rep = ScanReport(found=len(audio), unreadable=problems)
    with lib.session() as session:
        known = {row.path: row for row in session.execute(
            select(Track.id, Track.path, Track.size, Track.mtime_ns, Track.status))}
        on_disk = {f.path for f in audio}
        vanished = [r for p, r in known.items() if p not in on_disk and _under(p, prefixes)]
        by_stat: dict[tuple[int, int], list[tuple[int, str]]] = defaultdict(list)
        for row in known.values():
            by_stat[(row.size, row.mtime_ns)].append((row.id, row.path))
        moved_ids: set[int] = set()
        for done, file in enumerate(audio, 1):
            if is_cancelled(cancel):
                rep.cancelled = True
                break
            row = known.get(file.path)
            if row is not None and (row.size, row.mtime_ns) == (file.size, file.mtime_ns):
                if row.status == TrackStatus.MISSING:
                    track = session.get(Track, row.id)
                    track.status, track.missing_since = TrackStatus.OK, None
                    rep.updated += 1
                else:
                    rep.unchanged += 1
            elif row is not None:
                _read_into(session.get(Track, row.id), file, rep)
                rep.updated += 1
            elif (source := _moved_from(by_stat, file, on_disk, moved_ids)) is not None:
                track = session.get(Track, source)
                moved_ids.add(track.id)
                rep.moved.append((track.path, file.path))
                track.moved_from, track.path = track.path, file.path
                track.status, track.missing_since = TrackStatus.OK, None
            else:
                track = Track(path=file.path)
                _read_into(track, file, rep)
                session.add(track)
                rep.added += 1
            if done % commit_every == 0:
                session.commit()
            report(progress, done, len(audio))
        if not rep.cancelled:
            for row in vanished:
                if row.id not in moved_ids and row.status != TrackStatus.MISSING:
                    track = session.get(Track, row.id)
                    track.status, track.missing_since = TrackStatus.MISSING, utcnow()
                    rep.missing.append(row.path)
            session.flush()
            _scan_playlists(session, playlist_files, prefixes, rep)
        session.commit()
    return rep
