"""Long work off the GUI thread: a ``Job`` runs a library function on the thread pool and reports
progress, stage changes and its outcome through Qt signals; ``describe_error`` turns any failure
into a sentence for the window, so the user never sees a traceback.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

log = logging.getLogger("tagger.gui")

#: Progress signals are sent at most this often (seconds), however fast the job counts.
PROGRESS_INTERVAL_S = 0.1


def describe_error(exc: BaseException) -> str:
    """A short, plain message for ``exc``, for the message bar (the traceback goes to the log)."""
    from sqlalchemy.exc import OperationalError

    from tagger.library import LibraryError
    from tagger.tags import TagError
    from trainer.runtime.bundle import BundleError
    from trainer.runtime.audio import UnreadableAudio

    if isinstance(exc, (LibraryError, BundleError)):
        return str(exc)
    if isinstance(exc, (TagError, UnreadableAudio)):
        return f"{exc.path}: {exc.reason}"
    text = str(exc)
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "disk is full" in text:
        return "The disk is full: free some space, then try again. Nothing was lost."
    if isinstance(exc, OperationalError) and "locked" in text:
        return "The library is busy (another genre-tagger is using it); try again in a moment."
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return f"Permission denied{where}: the file or folder is read-only."
        return f"{exc.strerror or text}{where}"
    return f"Unexpected error ({type(exc).__name__}): {text}. Details are in the log."


def progress_text(done: int, total: int, elapsed_s: float, counted_from: int = 0) -> str:
    """``12 / 42, 3.1 tracks/s, about 10 s left``: the count, and once a rate can be measured
    (``elapsed_s`` since ``counted_from`` items were done), the speed and the time still needed."""
    text = f"{done:,} / {total:,}"
    counted = done - counted_from
    if counted <= 0 or elapsed_s <= 0 or done >= total:
        return text
    rate = counted / elapsed_s
    left = (total - done) / rate
    when = f"{left:.0f} s" if left < 90 else f"{left / 60:.0f} min"
    return f"{text}, {rate:.1f} tracks/s, about {when} left"


def end_child_processes(grace_s: float = 0.5) -> None:
    """End every worker process this app started (decoding workers, a training run): asked
    first, killed after ``grace_s``. Used when the window closes, so no process outlives it."""
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace_s
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
            child.join(1.0)


class UntilCancelled:
    """A classifier whose results end as soon as ``cancel`` is set. When the window closes, the
    decoding workers are ended; the failures that causes are not the files' fault, and must not
    be stored as "unreadable"."""

    def __init__(self, classifier: Any, cancel: threading.Event) -> None:
        self.classifier = classifier
        self.cancel = cancel
        self.bundle_id: str = classifier.bundle_id
        self.labels: list[str] = classifier.labels

    def classify_paths(self, paths: list, workers: int | None) -> Iterator:
        results = self.classifier.classify_paths(paths, workers=workers)
        try:
            for result in results:
                if self.cancel.is_set():
                    return
                yield result
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()


class JobContext:
    """What a job function gets: ``progress(done, total)``, ``stage(text)`` and ``cancel``, an
    Event that the library functions take as their cancel flag."""

    def __init__(self, job: Job) -> None:
        self._job = job
        self.cancel = job.cancel_event
        self._last = 0.0

    def progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - self._last >= PROGRESS_INTERVAL_S:
            self._last = now
            self._job.progressed.emit(done, total)

    def stage(self, text: str) -> None:
        self._job.staged.emit(text)


class Job(QObject):
    """One piece of long work. Connect to the signals, then ``start()``; ``finished`` comes last,
    after ``succeeded`` (with the function's result) or ``failed`` (with a message)."""

    progressed = Signal(int, int)
    staged = Signal(str)
    succeeded = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, title: str, fn: Callable[[JobContext], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.fn = fn
        self.cancel_event = threading.Event()
        self.running = False

    def start(self, pool: QThreadPool | None = None) -> Job:
        self.running = True
        (pool or QThreadPool.globalInstance()).start(self._run)
        return self

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def _run(self) -> None:
        try:
            result = self.fn(JobContext(self))
        except Exception as exc:  # every failure must reach the window as a message
            log.warning("%s failed", self.title, exc_info=exc)
            self._emit(self.failed, describe_error(exc))
        else:
            self._emit(self.succeeded, result)
        finally:
            self.running = False
            self._emit(self.finished)

    def _emit(self, signal: Any, *args: Any) -> None:
        """Send ``signal`` unless the window that started the job has closed in the meantime."""
        try:
            signal.emit(*args)
        except RuntimeError:  # "Signal source has been deleted": nobody is left to tell
            log.info("%s ended after its window closed", self.title)
