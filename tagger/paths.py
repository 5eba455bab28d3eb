"""Where the app's files live: the shipped resources, and the user's data folder."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_path

APP_NAME = "genre-tagger"
RESOURCES = Path(__file__).resolve().parents[1] / "resources"
DEFAULT_BUNDLE = RESOURCES / "default-model"


def data_dir() -> Path:
    """The user's data folder for the catalogue and settings (created on first use)."""
    path = user_data_path(APP_NAME, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path
