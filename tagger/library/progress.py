"""Progress and cancellation for long library jobs, shared by the CLI (a tqdm bar) and the GUI."""

from __future__ import annotations

import threading
from collections.abc import Callable

#: ``progress(done, total)``, called from the job's own thread after each unit of work.
Progress = Callable[[int, int], None]
#: A ``threading.Event`` or any callable returning True once the user asked to stop.
Cancel = threading.Event | Callable[[], bool]


def is_cancelled(cancel: Cancel | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
