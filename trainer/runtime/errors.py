"""The one family of faults a user can cause: a file, folder or setting, and why it cannot be used.

Every entry point (the command lines, the window's jobs) catches ``UserError`` alone and shows it as
one line or one message; anything else is a programming error and keeps its traceback. Subclasses
say which room the fault comes from, so callers that can recover from one kind still can.
"""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """``reason`` is a short sentence for the user; ``path`` (when there is one) is what it is about."""

    def __init__(self, reason: str, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path is not None else reason)

    def __str__(self) -> str:  # one line as given, also where a subclass is a KeyError (which would quote it)
        return str(self.args[0]) if self.args else self.reason

class MethodUnavailable(UserError):
    """A method or model that cannot run as configured here (no weights, a package missing); the
    message says what is missing and how to provide it."""


class Cancelled(Exception):
    """The caller's cancel check answered yes: a training run or an embedding pass stops here.
    Not a fault: the entry points say the job was cancelled."""
