"""Where the user's files live: the data folder for the catalogue and settings."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_path

APP_NAME = "genre-tagger"


def data_dir() -> Path:
    """The user's data folder for the catalogue and settings (created on first use)."""
    path = user_data_path(APP_NAME, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path
