"""Reading tags and writing genres, one module per tag family behind one registry.

``read_tags`` reads the common fields of any supported file; ``write_genres`` and
``restore_genres`` change the genre only. Writes never touch the file in place: the file is copied
beside itself, the copy is tagged and flushed, and the copy atomically replaces the original, so a
crash or kill leaves either the old file or the new one, never a half-written one. Tag writes leave
the audio stream untouched (mutagen rewrites tag blocks, never audio frames).
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import mutagen
import soundfile as sf
from mutagen import FileType

from tagger.tags.base import (
    GenreState,
    ReadOnlyFile,
    TagError,
    TagFamily,
    TagInfo,
    UnreadableTags,
    UnsupportedFormat,
)
from tagger.tags.id3 import ID3Family
from tagger.tags.mp4 import MP4Family
from tagger.tags.vorbis import VorbisFamily

__all__ = [
    "FAMILIES",
    "GenreState",
    "ReadOnlyFile",
    "TagError",
    "TagFamily",
    "TagInfo",
    "UnreadableTags",
    "UnsupportedFormat",
    "check_writable",
    "discard_leftover",
    "read_tags",
    "restore_genres",
    "write_genres",
]

FAMILIES: tuple[TagFamily, ...] = (ID3Family(), VorbisFamily(), MP4Family())
_BY_TYPE: dict[type[FileType], tuple[TagFamily, str]] = {
    kind: (family, name) for family in FAMILIES for kind, name in family.file_types.items()
}


def _open(path: Path) -> tuple[FileType, TagFamily] | None:
    """The mutagen file and its family, chosen by content; ``None`` for audio without tag support."""
    if not path.is_file():
        raise UnreadableTags(path, "file not found")
    if path.stat().st_size == 0:
        raise UnreadableTags(path, "file is empty (0 bytes)")
    try:
        audio = mutagen.File(path, options=list(_BY_TYPE))
    except Exception as exc:  # mutagen raises many types for damaged files; keep the message
        raise UnreadableTags(path, f"cannot read tags: {exc or type(exc).__name__}") from exc
    return None if audio is None else (audio, _BY_TYPE[type(audio)][0])


def read_tags(path: Path | str) -> TagInfo:
    """Title, artist, album, genres, duration and format of ``path``.

    Audio that libsndfile can decode but that has no tag system (e.g. Sun .au) is returned with
    empty tags and ``writable=False``. Raises ``UnreadableTags`` with a reason otherwise.
    """
    path = Path(path)
    opened = _open(path)
    if opened is None:
        try:
            info = sf.info(str(path))
        except Exception as exc:
            raise UnreadableTags(path, "not a recognised audio file") from exc
        fmt = path.suffix.lower().lstrip(".") or info.format.lower()
        return TagInfo(None, None, None, [], float(info.duration), fmt, writable=False)
    audio, family = opened
    return TagInfo(
        title=family.text(audio, "title"),
        artist=family.text(audio, "artist"),
        album=family.text(audio, "album"),
        genres=family.genres(audio),
        duration_s=float(audio.info.length) if audio.info.length else None,
        format=_BY_TYPE[type(audio)][1],
        genre_state=family.genre_state(audio),
    )


def _leftover(path: Path) -> Path:
    return path.with_name(f".{path.name}.genre-tagger-tmp")


def discard_leftover(path: Path | str) -> bool:
    """Remove the temporary copy a killed write may have left beside ``path``; True if one was."""
    leftover = _leftover(Path(path))
    if leftover.exists():
        leftover.unlink()
        return True
    return False


def _read_only(path: Path) -> bool:
    return not os.access(path, os.W_OK) or not path.stat().st_mode & stat.S_IWUSR


def check_writable(path: Path | str) -> None:
    """Raise ``ReadOnlyFile`` unless ``path`` may be rewritten. Read-only means no write
    permission for us, or the owner's write bit off (respected even when running as root); the
    folder must be writable too, since the tagged copy is created beside the file."""
    path = Path(path)
    if _read_only(path):
        raise ReadOnlyFile(path, "file is read-only")
    if _read_only(path.parent):
        raise ReadOnlyFile(path, "folder is read-only")


def _rewrite(path: Path, change: Callable[[TagFamily, FileType, Path], None]) -> None:
    """Apply ``change`` to a copy of ``path`` and swap the copy in atomically."""
    opened = _open(path)
    if opened is None:
        raise UnsupportedFormat(path, "this format has no genre tag the tagger can write")
    audio, family = opened
    check_writable(path)
    original = path.stat()
    tmp = _leftover(path)
    try:
        shutil.copy2(path, tmp)
        try:
            os.chown(tmp, original.st_uid, original.st_gid)
        except PermissionError:
            pass  # only the owner or root may keep the owner; the file is still ours to write
        change(family, audio, tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except PermissionError as exc:
        raise ReadOnlyFile(path, f"cannot write: {exc.strerror}") from exc
    except Exception as exc:  # mutagen raises many types on damaged files; one file must not stop a run
        raise TagError(path, f"cannot write tags: {exc}") from exc
    finally:  # after a failure or an interrupt, drop the half-made copy (after success it is gone)
        tmp.unlink(missing_ok=True)


def write_genres(path: Path | str, genres: list[str], id3_version: int = 4) -> None:
    """Set the genre tag of ``path`` to ``genres`` (one value each); an empty list removes it.

    ``id3_version`` (3 or 4) applies to MP3, WAV and AIFF. Raises ``ReadOnlyFile``,
    ``UnsupportedFormat``, ``UnreadableTags`` or ``TagError``.
    """
    if id3_version not in (3, 4):
        raise ValueError(f"ID3v2 version must be 3 or 4, not {id3_version}")
    cleaned = list(dict.fromkeys(g.strip() for g in genres if g.strip()))
    _rewrite(Path(path), lambda family, audio, tmp: family.set_genres(audio, cleaned, tmp, id3_version))


def restore_genres(path: Path | str, state: GenreState) -> None:
    """Put back the exact genre fields of ``state`` (from ``TagInfo.genre_state``), absence included."""
    _rewrite(Path(path), lambda family, audio, tmp: family.restore(audio, state, tmp))
