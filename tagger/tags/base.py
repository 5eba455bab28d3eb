"""What every tag family provides, and the errors the tag layer raises.

A *family* is one tag system (ID3, Vorbis comments, MP4 atoms) that knows how to read the common
fields of the mutagen file types it covers, and how to change only the genre. The registry in
``tagger.tags`` picks the family from the file's content, so a mislabelled extension still works.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mutagen import FileType

from trainer.runtime.errors import UserError

#: The exact genre fields of one file, JSON-serialisable, enough to put them back byte for byte.
GenreState = dict[str, Any]


@dataclass(frozen=True)
class TagInfo:
    """Tags and stream facts of one file. ``genres`` is the list a user would read;
    ``genre_state`` is the raw form the undo journal keeps (``{}`` for untaggable formats)."""

    title: str | None
    artist: str | None
    album: str | None
    genres: list[str]
    duration_s: float | None
    format: str
    writable: bool = True
    genre_state: GenreState = field(default_factory=dict)


class TagError(UserError):
    """A tag could not be read or written; ``reason`` is a short sentence for the user."""

    path: Path

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(reason, path)


class UnreadableTags(TagError):
    """The file is missing, empty, or not an audio file the tag layer understands."""


class ReadOnlyFile(TagError):
    """The file (or its folder) may not be written; it is reported and never forced."""


class UnsupportedFormat(TagError):
    """The format carries no genre tag the tagger can write (e.g. Sun .au)."""


class DamagedFile(TagError):
    """The file's headers do not match its contents (e.g. a WAV cut short that still declares its
    full audio chunk); writing could land a tag inside the audio, so the file is left alone."""


class PartialWrite(TagError):
    """A write into a hard-linked file stopped partway; the complete tagged copy is kept beside it,
    and ``tagger.tags.finish_interrupted`` puts it in place (the journal does so at its next start)."""


class TagFamily(ABC):
    """One tag system; subclasses register the mutagen file types they cover."""

    #: mutagen file type -> the format name the library stores (``"mp3"``, ``"flac"``, ...).
    file_types: ClassVar[dict[type[FileType], str]]

    @abstractmethod
    def text(self, audio: FileType, name: str) -> str | None:
        """The ``title``, ``artist`` or ``album`` of ``audio``, multiple values joined by "; "."""

    @abstractmethod
    def genres(self, audio: FileType) -> list[str]:
        """The genres as a user reads them, in file order."""

    @abstractmethod
    def genre_state(self, audio: FileType) -> GenreState:
        """The raw genre fields; ``restore`` of this value reproduces them exactly."""

    @abstractmethod
    def set_genres(self, audio: FileType, genres: list[str], target: Path, id3_version: int) -> None:
        """Write ``genres`` (empty: remove the genre tag) into ``target``, a copy of ``audio``'s file."""

    @abstractmethod
    def restore(self, audio: FileType, state: GenreState, target: Path) -> None:
        """Put the genre fields of ``state`` back into ``target``, a copy of ``audio``'s file."""


def joined(values: list[Any] | None) -> str | None:
    """Multiple text values as one display string; ``None`` when there are none."""
    texts = [str(v) for v in values or [] if str(v)]
    return "; ".join(texts) if texts else None
