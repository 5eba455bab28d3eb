"""One write session at a time per catalogue, and a check that its catalogue is still there.

``write``, ``undo`` and the recovery of an interrupted run take an exclusive ``flock`` on a lock
file beside the catalogue (``<catalogue>-lock``, holding the holder's pid). A second one is refused
at once with ``WriteLocked`` rather than queued: it would plan against files the first is changing.
The kernel drops the lock when its process dies, so a killed writer never leaves it stuck.

While holding the lock, a write asks ``CatalogueHold.lost()`` before touching each file: a
catalogue deleted, replaced or made read-only mid-run can no longer record (or keep) the journal
row that makes a change undoable, so the write stops there.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError

from tagger.library.db import Library, LibraryError
from tagger.tags import read_only


class WriteLocked(LibraryError):
    """Another write or undo is running on this catalogue; nothing was done."""


class CatalogueHold:
    """The catalogue file as it was when the write session began."""

    def __init__(self, lib: Library) -> None:
        self.path = lib.path
        try:
            info = os.stat(self.path)
        except OSError as exc:
            raise LibraryError(f"the catalogue {self.path} cannot be reached ({exc.strerror})") from exc
        if read_only(self.path):
            raise LibraryError(f"the catalogue {self.path} is read-only: a write or undo must journal its changes")
        self._identity = (info.st_dev, info.st_ino)
        self.journal_kept = True  # False once the catalogue that holds the journal is gone
        # scratch copies are named by catalogue and edit id: unique across processes and catalogues
        self._scratch = hashlib.sha1(os.fsencode(os.path.realpath(self.path))).hexdigest()[:8]

    def work(self, edit_id: int | str) -> str:
        """The scratch name of journal edit ``edit_id`` (``""``: the prefix of them all)."""
        return f"{self._scratch}-{edit_id}"

    def lost(self) -> str | None:
        """Why journaled changes can no longer go on; ``None`` while the catalogue is fine."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self.journal_kept = False
            return f"the catalogue {self.path} was deleted during the write"
        except OSError as exc:
            return f"the catalogue {self.path} cannot be reached ({exc.strerror})"
        if (info.st_dev, info.st_ino) != self._identity:
            self.journal_kept = False
            return f"the catalogue {self.path} was replaced by another file during the write"
        if read_only(self.path):
            return f"the catalogue {self.path} was made read-only during the write"
        return None


@contextmanager
def write_session(lib: Library) -> Iterator[CatalogueHold]:
    """Hold ``lib``'s write lock for the ``with`` block; ``WriteLocked`` if another process holds it."""
    lock_path = lib.path.with_name(lib.path.name + "-lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise LibraryError(f"cannot lock the catalogue for writing ({lock_path}: {exc.strerror})") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 20, 0).decode("ascii", "replace").strip() or "unknown"
            raise WriteLocked(f"another write is running on this catalogue (pid {holder}); "
                              "try again when it has finished") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield CatalogueHold(lib)
        except SQLAlchemyError as exc:  # a catalogue fault outside the guarded steps: one line, no traceback
            raise LibraryError(f"the catalogue {lib.path} cannot be written ({getattr(exc, 'orig', exc)})") from exc
    finally:
        os.close(fd)  # closing releases the lock; the file stays, so no one locks a file being deleted
