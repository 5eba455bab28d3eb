"""Reading .m3u/.m3u8 playlists and keeping their entries linked to tracks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from tagger.library.schema import Playlist, PlaylistEntry, Track, TrackStatus

PLAYLIST_EXTENSIONS = frozenset({".m3u", ".m3u8"})


@dataclass(frozen=True)
class PlaylistItem:
    location: str  # the line as written
    path: str | None  # absolute local path; None for a URL
    title: str | None  # from the #EXTINF line before it


def _decode(raw: bytes, suffix: str) -> str:
    """.m3u8 is UTF-8 by definition; plain .m3u is UTF-8 today and Windows-1252 in older players."""
    if suffix == ".m3u8":
        return raw.decode("utf-8-sig", errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _local_path(location: str, base: Path) -> str | None:
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return os.path.normpath(unquote(parsed.path))
    if len(parsed.scheme) > 1:  # http://, https://, ...; one letter is a Windows drive
        return None
    if os.sep == "/":
        location = location.replace("\\", "/")  # playlists written on Windows
    return os.path.normpath(os.path.join(base, location))


def read_m3u(path: Path | str) -> list[PlaylistItem]:
    """The entries of an (extended) M3U playlist, relative paths resolved against its folder."""
    path = Path(path)
    items: list[PlaylistItem] = []
    title: str | None = None
    for line in _decode(path.read_bytes(), path.suffix.lower()).splitlines():
        line = line.strip()
        if line.upper().startswith("#EXTINF:"):
            _, _, name = line.partition(",")
            title = name.strip() or None
        elif line and not line.startswith("#"):
            items.append(PlaylistItem(line, _local_path(line, path.parent), title))
            title = None
    return items


def import_playlist(session: Session, path: Path, size: int, mtime_ns: int, track_ids: dict[str, int]) -> Playlist:
    """Create or refresh the playlist at ``path``; ``track_ids`` maps known track paths to ids."""
    playlist = session.scalar(select(Playlist).where(Playlist.path == str(path)))
    if playlist is None:
        playlist = Playlist(path=str(path), name=path.stem, size=size, mtime_ns=mtime_ns)
        session.add(playlist)
    playlist.size, playlist.mtime_ns, playlist.status = size, mtime_ns, TrackStatus.OK
    playlist.entries = [
        PlaylistEntry(position=i, location=item.location, path=item.path, title=item.title,
                      track_id=track_ids.get(item.path) if item.path else None)
        for i, item in enumerate(read_m3u(path))
    ]
    return playlist


def relink_entries(session: Session) -> int:
    """Link entries whose file was not in the catalogue before (or has moved back); returns how many."""
    paths = {p: i for p, i in session.execute(select(Track.path, Track.id))}
    linked = 0
    for entry in session.scalars(select(PlaylistEntry).where(PlaylistEntry.track_id.is_(None),
                                                             PlaylistEntry.path.is_not(None))):
        if entry.path in paths:
            entry.track_id = paths[entry.path]
            linked += 1
    return linked
