"""The window's option values, stored as JSON in the user's data folder.

Values are checked against the declarations in ``tagger.options`` when read and when set, and turn
into the same objects the command line builds from its flags (``WindowChoice``, ``WritePolicy``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tagger.library import WritePolicy, default_db_path
from tagger.options import BY_KEY, OPTIONS, coerce
from tagger.paths import data_dir
from trainer.runtime.audio import WindowChoice
from trainer.runtime.resources import DEFAULT_BUNDLE


def default_settings_path() -> Path:
    return data_dir() / "settings.json"


class Settings:
    """Option values backed by a JSON file; every change is saved at once."""

    def __init__(self, path: Path | None, values: dict[str, Any] | None = None) -> None:
        self.path = path
        self.values = {o.key: o.default for o in OPTIONS} | (values or {})
        self.problems: list[str] = []  # values in the file that were ignored, and why

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read ``path`` (default: settings.json in the data folder); bad values fall back to defaults."""
        path = path or default_settings_path()
        settings = cls(path)
        try:
            stored = json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, json.JSONDecodeError) as exc:
            settings.problems.append(f"{path} could not be read ({exc}); using defaults")
            stored = {}
        for key, value in stored.items() if isinstance(stored, dict) else ():
            if key in BY_KEY:
                try:
                    settings.values[key] = coerce(BY_KEY[key], value)
                except ValueError as exc:
                    settings.problems.append(f"{exc}; using {BY_KEY[key].default!r}")
        return settings

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def set(self, key: str, value: Any) -> None:
        """Validate, store and save one value (``OSError`` if the file cannot be written)."""
        self.values[key] = coerce(BY_KEY[key], value)
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.values, indent=2) + "\n")
        tmp.replace(self.path)

    # What the options mean to the rest of the app

    @property
    def library_path(self) -> Path:
        return Path(self["library"]).expanduser() if self["library"] else default_db_path()

    @property
    def bundle_path(self) -> Path:
        return Path(self["model"]).expanduser() if self["model"] else DEFAULT_BUNDLE

    @property
    def models_dir(self) -> Path:
        """Where models trained from the settings are kept: beside the library file."""
        return self.library_path.parent / "models"

    @property
    def folders(self) -> tuple[str, ...]:
        return tuple(self["folders"])

    def window_choice(self) -> WindowChoice:
        """What the user changed of the model's own windows, as the command line's flags give it."""
        return WindowChoice(length_s=self["window_s"] or None, hop_s=self["hop_s"] or None)

    def workers(self) -> int | None:
        return None if self["workers"] < 0 else self["workers"]

    def write_policy(self, **changes: Any) -> WritePolicy:
        values = {"mode": self["write_mode"], "min_confidence": self["min_confidence"] or None,
                  "max_genres": self["max_genres"] or None, "id3_version": 3 if self["id3v23"] else 4}
        return WritePolicy(**(values | changes))
