"""The app's settings: every option declared once, with its type, title and limits, and stored as
JSON in the user's data folder. The settings page builds its form from these declarations, and
the window turns them into the same objects the CLI builds from its flags (``WindowSpec``,
``WritePolicy``), so both apply identical rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagger.library import MODES, WritePolicy, default_db_path
from tagger.paths import data_dir
from trainer.runtime.audio import WindowSpec
from trainer.runtime.resources import DEFAULT_BUNDLE

_POLICY = WritePolicy()


@dataclass(frozen=True)
class Option:
    """One setting. ``section`` names the settings-page group it appears in; options without one
    are edited elsewhere in the window (folders in the library view, the model in its own box)."""

    key: str
    title: str
    kind: type
    default: Any
    help: str = ""
    section: str = ""
    choices: dict[str, str] | None = None  # stored value -> title
    minimum: float | None = None
    maximum: float | None = None
    special: str = ""  # title of the minimum value, where it means "automatic"
    percent: bool = False  # a 0..1 fraction shown as a percentage


OPTIONS: tuple[Option, ...] = (
    Option("folders", "Music folders", list, [], "Folders the library shows and scans."),
    Option("model", "Model bundle", str, "", "A trained bundle folder or zip; empty: the shipped default, the MSD genre tagger."),
    Option("library", "Library file", str, "",
           "The catalogue database; empty: library.db in the user data folder.", section="Library"),
    Option("device", "Device", str, "auto", "Where the model runs.", section="Analysis",
           choices={"auto": "Automatic (GPU when present)", "cuda": "GPU (CUDA)", "cpu": "CPU"}),
    Option("window_s", "Window length", float, 0.0,
           "Seconds of audio judged at a time; a track's genre is the mean over its windows.",
           section="Analysis", minimum=0.0, maximum=300.0, special="the model's own"),
    Option("hop_s", "Hop between windows", float, 0.0, "Seconds from one window's start to the next.",
           section="Analysis", minimum=0.0, maximum=300.0, special="same as the window"),
    Option("workers", "Decoding processes", int, -1,
           "Processes that decode audio in parallel; 0 decodes inside the app.",
           section="Analysis", minimum=-1, maximum=64, special="one per core"),
    Option("write_mode", "Write genres", str, _POLICY.mode, "What happens to a genre the file already has.",
           section="Writing", choices=dict(zip(MODES, ("Only into files without a genre", "Replace the genre",
                                                      "Add to the genres already there")))),
    Option("min_confidence", "Minimum confidence", float, _POLICY.min_confidence,
           "Predictions less probable than this are not written (accepted genres always are).",
           section="Writing", minimum=0.0, maximum=1.0, percent=True),
    Option("max_genres", "Genres per file", int, _POLICY.max_genres,
           "At most this many predicted genres per file.", section="Writing", minimum=1, maximum=5),
    Option("id3v23", "Write ID3v2.3 (MP3, WAV, AIFF)", bool, _POLICY.id3_version == 3,
           "For players that cannot read ID3v2.4.", section="Writing"),
    Option("accept_threshold", "Accept all above", float, 0.8,
           "The confidence the review bar's bulk accept uses.", minimum=0.0, maximum=1.0, percent=True),
    Option("retrain_dataset", "Retraining dataset", str, "gtzan", "The kind of dataset retrained on last.",
           choices={"gtzan": "GTZAN", "folders": "A folder per genre", "library": "My library"}),
    Option("retrain_path", "Retraining data", str, "", "The dataset folder or features CSV retrained on last."),
)
BY_KEY: dict[str, Option] = {o.key: o for o in OPTIONS}


def coerce(option: Option, value: Any) -> Any:
    """``value`` as the option's type within its limits; raises ValueError if it cannot be."""
    if option.kind is list:
        if not isinstance(value, list):
            raise ValueError(f"{option.title} must be a list")
        return [str(v) for v in value]
    if option.kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{option.title} must be true or false")
        return value
    if option.kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{option.title} must be a number")
        value = option.kind(value)
        if option.minimum is not None and value < option.minimum:
            raise ValueError(f"{option.title} must be at least {option.minimum:g}")
        if option.maximum is not None and value > option.maximum:
            raise ValueError(f"{option.title} must be at most {option.maximum:g}")
        return value
    value = str(value)
    if option.choices is not None and value not in option.choices:
        raise ValueError(f"{option.title} must be one of {', '.join(option.choices)}")
    return value


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

    def window_spec(self) -> WindowSpec | None:
        """The window rule, or None for the model's own (as the CLI without ``--window``)."""
        if not self["window_s"]:
            return None
        return WindowSpec(length_s=self["window_s"], hop_s=self["hop_s"] or self["window_s"])

    def workers(self) -> int | None:
        return None if self["workers"] < 0 else self["workers"]

    def write_policy(self, **changes: Any) -> WritePolicy:
        values = {"mode": self["write_mode"], "min_confidence": self["min_confidence"],
                  "max_genres": self["max_genres"], "id3_version": 3 if self["id3v23"] else 4}
        return WritePolicy(**(values | changes))
