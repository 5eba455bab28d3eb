"""Reading tags and writing genres, one module per tag family behind one registry.

``read_tags`` reads the common fields of any supported file; ``write_genres`` and
``restore_genres`` change the genre only. Writes never edit the file while working on it: a scratch
copy is tagged, checked and flushed, then takes the original's place (``scratch``: atomically for a
file with one name, into the same inode for a hard-linked one; links are followed). Tag writes leave
the audio stream untouched (mutagen rewrites tag blocks, never audio frames); WAV and AIFF files
whose headers lie about their size are refused, and their audio chunks are compared byte for byte
after every write (``riff``).
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
from mutagen.aiff import AIFF
from mutagen.wave import WAVE

from tagger.tags import riff
from tagger.tags.base import (
    DamagedFile,
    GenreState,
    PartialWrite,
    ReadOnlyFile,
    TagError,
    TagFamily,
    TagInfo,
    UnreadableTags,
    UnsupportedFormat,
)
from tagger.tags.id3 import ID3Family
from tagger.tags.mp4 import MP4Family
from tagger.tags.scratch import (
    PREFIX,
    discard_scratch,
    finish_interrupted,
    new_work,
    part_path,
    put_in_place,
    resolved,
)
from tagger.tags.vorbis import VorbisFamily
from tagger.tags.wave import WaveFamily

__all__ = [
    "FAMILIES",
    "PREFIX",
    "DamagedFile",
    "GenreState",
    "PartialWrite",
    "ReadOnlyFile",
    "TagError",
    "TagFamily",
    "TagInfo",
    "UnreadableTags",
    "UnsupportedFormat",
    "check_writable",
    "discard_scratch",
    "finish_interrupted",
    "read_only",
    "read_tags",
    "resolved",
    "restore_genres",
    "write_genres",
]

FAMILIES: tuple[TagFamily, ...] = (ID3Family(), WaveFamily(), VorbisFamily(), MP4Family())
#: Chunked containers whose layout is checked before and compared after every write.
_CHUNKED = (WAVE, AIFF)
_BY_TYPE: dict[type[FileType], tuple[TagFamily, str]] = {
    kind: (family, name) for family in FAMILIES for kind, name in family.file_types.items()
}


def _open(path: Path) -> tuple[FileType, TagFamily] | None:
    """The mutagen file and its family, chosen by content; ``None`` for audio without tag support."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UnreadableTags(path, "broken link: what it points to does not exist" if path.is_symlink()
                             else "file not found") from None
    except OSError as exc:  # e.g. a name too long, a link loop, no permission on a folder
        raise UnreadableTags(path, f"cannot open: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableTags(path, "not a regular file (a folder, pipe or device)")
    if info.st_size == 0:
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


def read_only(path: Path | str) -> bool:
    """No write permission for us, or the owner's write bit off (respected even when running as root)."""
    return not os.access(path, os.W_OK) or not os.stat(path).st_mode & stat.S_IWUSR


def check_writable(path: Path | str) -> None:
    """Raise ``ReadOnlyFile`` unless ``path`` (the file a link points to) may be rewritten; its
    folder must be writable too, since the tagged copy is prepared beside the file. A WAV or AIFF
    file whose header lies about its size raises ``DamagedFile``: a tag could land in its audio."""
    target = resolved(path)
    if read_only(target):
        raise ReadOnlyFile(path, "file is read-only")
    if read_only(target.parent):
        raise ReadOnlyFile(path, "folder is read-only")
    riff.check(target)


def _rewrite(path: Path, change: Callable[[TagFamily, FileType, Path], None], work: str | None) -> None:
    """Apply ``change`` to a scratch copy of ``path`` and put the copy in its place (``scratch``)."""
    target = resolved(path)
    opened = _open(path)
    if opened is None:
        raise UnsupportedFormat(path, "this format has no genre tag the tagger can write")
    audio, family = opened
    work = work or new_work()
    part = part_path(target, work)
    try:
        check_writable(path)
        original = target.stat()
        shutil.copy2(target, part)
        try:
            os.chown(part, original.st_uid, original.st_gid)
        except PermissionError:
            pass  # only the owner or root may keep the owner; the file is still ours to write
        change(family, audio, part)
        if isinstance(audio, _CHUNKED):
            riff.check_same_audio(target, part)
        put_in_place(part, target, work)
    except TagError:
        raise
    except PermissionError as exc:
        raise ReadOnlyFile(path, f"cannot write: {exc.strerror}") from exc
    except Exception as exc:  # mutagen raises many types on damaged files; one file must not stop a run
        raise TagError(path, f"cannot write tags: {exc}") from exc
    finally:  # after a failure or an interrupt, drop the half-made copy (after success it is gone)
        part.unlink(missing_ok=True)


def write_genres(path: Path | str, genres: list[str], id3_version: int = 4, *, work: str | None = None) -> None:
    """Set the genre tag of ``path`` to ``genres`` (one value each); an empty list removes it.

    ``id3_version`` (3 or 4) applies to MP3, WAV and AIFF. ``work`` names the scratch copy (see
    ``scratch``; default: unique to this call). Raises ``ReadOnlyFile``, ``UnsupportedFormat``,
    ``UnreadableTags``, ``DamagedFile``, ``PartialWrite`` or ``TagError``.
    """
    if id3_version not in (3, 4):
        raise ValueError(f"ID3v2 version must be 3 or 4, not {id3_version}")
    cleaned = list(dict.fromkeys(g.strip() for g in genres if g.strip()))
    _rewrite(Path(path), lambda family, audio, tmp: family.set_genres(audio, cleaned, tmp, id3_version), work)


def restore_genres(path: Path | str, state: GenreState, *, work: str | None = None) -> None:
    """Put back the exact genre fields of ``state`` (from ``TagInfo.genre_state``), absence included."""
    _rewrite(Path(path), lambda family, audio, tmp: family.restore(audio, state, tmp), work)
