"""Where the user's files live (the data folder for the catalogue and settings), and how a file's
name is shown."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path

APP_NAME = "genre-tagger"


def data_dir() -> Path:
    """The user's data folder for the catalogue and settings (created on first use)."""
    path = user_data_path(APP_NAME, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shown(text: str | Path) -> str:
    """A file name (or a reason quoting one) as one printable line: bytes that are not UTF-8 as
    ``\\xNN``, control characters such as a newline in a name escaped as ``\\n``."""
    decoded = os.fsencode(text).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in decoded)
