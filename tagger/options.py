"""Every option of the app declared once: name, type, default, limits and help.

A leaf module (nothing of the app below it), so the command line can build its flags without
loading the catalogue.

The settings page builds its form from these declarations and the command line builds its flags
from the same ones (``Option.add_to``), so a default, a limit or a help text cannot differ between
the two. ``tagger.settings`` stores the values the window chose.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: How a write treats a genre the file already has (``tagger.library.write.WritePolicy.mode``).
WRITE_MODES = ("empty", "replace", "append")
#: The confidence "accept all above" starts at, in the window and for ``genre-tagger accept``.
DEFAULT_ACCEPT_CONFIDENCE = 0.8
#: What the write limits' automatic value means (see ``WritePolicy``).
OWN_RULE = "the model's own rule"


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
    flag: str = ""  # the command line's name for it; empty where only the window offers it
    path: bool = False  # a file or folder: the command line hands it on as a Path

    @property
    def automatic(self) -> str:
        """What the option's empty (or, with ``special``, minimum) value stands for; "" if nothing."""
        if self.special:
            return self.special
        return self.help.partition("empty: ")[2].rstrip(".") if self.kind is str and self.default == "" else ""

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """This option as ``flag`` of ``parser``, with the same type, limits, choices and help as
        the settings page. Where the empty or minimum value means automatic, the flag defaults to
        None (automatic), giving that value means the same, and the help says what it is."""
        text = self.help.partition("; empty: ")[0].rstrip(".")
        if self.kind is bool:
            parser.add_argument(self.flag, action="store_true", default=self.default, help=text.replace("%", "%%"))
            return

        def parse(raw: str) -> Any:
            try:
                value = coerce(self, self.kind(raw) if self.kind in (int, float) else raw)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None
            if self.special and value == self.minimum:  # the automatic value, as when the flag is left out
                return None
            return Path(value).expanduser() if self.path else value

        default = None if self.automatic else self.default
        shown = self.automatic or (f"{self.default:.0%}" if self.percent else f"{self.default}")
        parser.add_argument(self.flag, type=parse, default=default, metavar=None if self.choices is None else
                            "{" + ",".join(self.choices) + "}", help=f"{text} (default: {shown})".replace("%", "%%"))


OPTIONS: tuple[Option, ...] = (
    Option("folders", "Music folders", list, [], "Folders the library shows and scans."),
    Option("model", "Model bundle", str, "", "A model bundle folder or zip; empty: the shipped MSD genre tagger.",
           flag="--model", path=True),
    Option("library", "Library file", str, "",
           "The catalogue database; empty: library.db in the user data folder.", section="Library", flag="--db",
           path=True),
    Option("device", "Device", str, "auto", "Where the model runs.", section="Analysis", flag="--device",
           choices={"auto": "Automatic (GPU when present)", "cuda": "GPU (CUDA)", "mps": "GPU (Apple)", "cpu": "CPU"}),
    Option("window_s", "Window length", float, 0.0,
           "Seconds of audio judged at a time; a track's genre is the mean over its windows.",
           section="Analysis", minimum=0.0, maximum=300.0, special="the model's own", flag="--window"),
    Option("hop_s", "Hop between windows", float, 0.0, "Seconds from one window's start to the next.",
           section="Analysis", minimum=0.0, maximum=300.0, special="same as the window", flag="--hop"),
    Option("patches", "Patches per window", int, 0,
           "3-s patches of each window a MusiCNN tagger judges, spread over it; more is slower and closer "
           "to judging all ten.", section="Analysis", minimum=0, maximum=10, special="the model's own",
           flag="--patches"),
    Option("workers", "Decoding processes", int, -1,
           "Processes that decode audio in parallel; 0 decodes inside the app.",
           section="Analysis", minimum=-1, maximum=64, special="one per core", flag="--workers"),
    Option("write_mode", "Write genres", str, WRITE_MODES[0], "What happens to a genre the file already has.",
           section="Writing", flag="--mode", choices=dict(zip(WRITE_MODES, ("Only into files without a genre", "Replace the genre",
                                                      "Add to the genres already there")))),
    Option("min_confidence", "Minimum confidence", float, 0.0,
           "Predictions less probable than this are not written (accepted genres always are).",
           section="Writing", minimum=0.0, maximum=1.0, percent=True, special=OWN_RULE, flag="--min-confidence"),
    Option("max_genres", "Genres per file", int, 0,
           "At most this many predicted genres per file.", section="Writing", minimum=0, maximum=5,
           special=OWN_RULE, flag="--max-genres"),
    Option("id3v23", "Write ID3v2.3 (MP3, WAV, AIFF)", bool, False,
           "For players that cannot read ID3v2.4.", section="Writing", flag="--id3v23"),
    Option("accept_threshold", "Accept all above", float, DEFAULT_ACCEPT_CONFIDENCE,
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


