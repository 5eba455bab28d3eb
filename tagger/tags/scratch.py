"""Where a tag write is prepared, and how the prepared copy takes the original's place.

The user's file is never edited while it is being worked on: it is copied beside itself under a
short hidden name, ``.gt-<work>.part`` (well inside any file system's name limit, however long the
file's own name), the copy is tagged, checked and flushed, and only then takes the original's place:

- a file with one name is replaced by renaming the copy over it, which is atomic: a kill leaves
  the old file or the new one;
- a hard-linked file keeps its inode, so that every one of its names sees the change: the copy is
  renamed to ``.gt-<work>.<inode>.back`` and copied back into the original. A kill during that copy
  leaves the original half-written beside a complete ``.back``; ``finish_interrupted`` completes it.

Symbolic links are resolved first: the file a link points to is tagged, and the link stays a link.
``work`` tells writes apart: the journal uses its catalogue and edit id, a direct call the process
id and random bits, so two processes never share a scratch name.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Collection
from pathlib import Path
from typing import BinaryIO

from tagger.tags.base import PartialWrite

PREFIX = ".gt-"
_SUFFIXES = (".part", ".back")
_BLOCK = 1 << 20


def resolved(path: Path | str) -> Path:
    """The file itself: symbolic links (of the file and its folders) followed."""
    return Path(os.path.realpath(path))


def new_work() -> str:
    """A scratch name unique to this process and call."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def part_path(target: Path, work: str) -> Path:
    return target.with_name(f"{PREFIX}{work}.part")


def _back_path(target: Path, work: str, inode: int) -> Path:
    # the inode in the name ties the copy to its file: a stray copy is never put into another file
    return target.with_name(f"{PREFIX}{work}.{inode:x}.back")


def _reserve(handle: BinaryIO, size: int) -> None:
    """Make room for ``size`` bytes in the open file before any of its bytes change; on failure
    (a full disk) only zeros past its old end were added, and they are cut off again."""
    old = handle.seek(0, os.SEEK_END)
    if size > old:
        try:
            os.posix_fallocate(handle.fileno(), old, size - old)
        except OSError:
            handle.truncate(old)
            raise


def _copy_back(back: Path, target: Path) -> None:
    """Copy ``back`` over ``target``'s bytes (same inode), then remove ``back``. A failure raises
    ``PartialWrite`` and keeps ``back``, the only complete copy, for ``finish_interrupted``."""
    size = back.stat().st_size
    try:
        with open(back, "rb") as src, open(target, "r+b") as dst:
            _reserve(dst, size)
            dst.seek(0)
            shutil.copyfileobj(src, dst, _BLOCK)
            dst.truncate(size)
            dst.flush()
            os.fsync(dst.fileno())
    except OSError as exc:
        raise PartialWrite(target, f"the write stopped partway ({exc.strerror or exc}); the tagged copy "
                                   f"{back.name} is kept and the next write or undo puts it in place") from exc
    back.unlink()


def put_in_place(part: Path, target: Path, work: str) -> None:
    """Make ``part`` (a tagged copy of ``target``) durable, then let it take ``target``'s place."""
    with open(part, "rb+") as handle:
        os.fsync(handle.fileno())
    info = os.stat(target)
    if info.st_nlink == 1:
        os.replace(part, target)
        return
    with open(target, "r+b") as handle:  # a full disk stops the write here, the original untouched
        _reserve(handle, part.stat().st_size)
    back = _back_path(target, work, info.st_ino)
    os.replace(part, back)
    _copy_back(back, target)


def finish_interrupted(path: Path | str, work: str) -> bool:
    """Complete the copy-back into ``path`` that a killed write ``work`` left unfinished.

    True when there was one. A ``.back`` copy made for another inode is not applied (the
    scratch sweep removes it).
    """
    target = resolved(path)
    try:
        inode = os.stat(target).st_ino
    except OSError:  # no file (or none reachable) to complete: whoever reads it next says why
        return False
    back = _back_path(target, work, inode)
    if not back.is_file():
        return False
    _copy_back(back, target)
    return True


def discard_scratch(folder: Path | str, work_prefix: str, keep: Collection[str] = ()) -> list[Path]:
    """Remove the scratch copies in ``folder`` whose work names start with ``work_prefix``
    (what a killed write left behind), except those of the works in ``keep``; returns them."""
    removed = []
    with os.scandir(folder) as entries:
        for entry in entries:
            work = entry.name[len(PREFIX):].split(".", 1)[0]
            if (entry.name.startswith(PREFIX + work_prefix) and entry.name.endswith(_SUFFIXES)
                    and work not in keep and entry.is_file(follow_symlinks=False)):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed
