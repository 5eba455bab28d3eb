"""ID3v2 tags: MP3 files, and the ID3 chunk of AIFF files (and of WAV files, see ``wave``).

Genres live in TCON. ID3v2.4 stores several values NUL-separated; ID3v2.3 has no multi-value
frames, so values are joined with "/" (mutagen's default and the common convention) and split on
"/" again when read. mutagen upgrades old forms on load (e.g. the ID3v1 number "(17)" becomes
"Rock"), so a restored tag holds the same genres in that normalised spelling, in its old version.
"""

from __future__ import annotations

from pathlib import Path

from mutagen import FileType
from mutagen.aiff import AIFF
from mutagen.id3 import TCON, Encoding
from mutagen.mp3 import MP3

from tagger.tags.base import GenreState, TagFamily, joined

_TEXT_FRAMES = {"title": "TIT2", "artist": "TPE1", "album": "TALB"}


def _v2_minor(audio: FileType) -> int | None:
    """The ID3v2 minor version of the file's tag (2, 3 or 4); ``None`` for none or ID3v1 only."""
    if audio.tags is None or audio.tags.version < (2, 2, 0):
        return None
    return audio.tags.version[1]


class ID3Family(TagFamily):
    file_types = {MP3: "mp3", AIFF: "aiff"}

    def text(self, audio: FileType, name: str) -> str | None:
        frame = audio.tags.get(_TEXT_FRAMES[name]) if audio.tags is not None else None
        return joined(frame.text if frame is not None else None)

    def genres(self, audio: FileType) -> list[str]:
        frame = audio.tags.get("TCON") if audio.tags is not None else None
        if frame is None:
            return []
        values = frame.genres
        if _v2_minor(audio) == 3:
            values = [part.strip() for value in values for part in value.split("/")]
        return [v for v in values if v]

    def genre_state(self, audio: FileType) -> GenreState:
        frame = audio.tags.get("TCON") if audio.tags is not None else None
        return {"TCON": list(frame.text) if frame is not None else None, "version": _v2_minor(audio)}

    def set_genres(self, audio: FileType, genres: list[str], target: Path, id3_version: int) -> None:
        had_tag = _v2_minor(audio) is not None
        self._put(audio, genres or None)
        self._save(audio, target, id3_version, drop_if_empty=not had_tag)

    def restore(self, audio: FileType, state: GenreState, target: Path) -> None:
        self._put(audio, state["TCON"])
        version = state["version"]
        self._save(audio, target, 3 if version in (2, 3) else 4, drop_if_empty=version is None)

    @staticmethod
    def _put(audio: FileType, values: list[str] | None) -> None:
        if audio.tags is None:
            audio.add_tags()
        if values is None:
            audio.tags.delall("TCON")
        else:
            audio.tags.setall("TCON", [TCON(encoding=Encoding.UTF8, text=list(values))])

    @staticmethod
    def _save(audio: FileType, target: Path, id3_version: int, drop_if_empty: bool) -> None:
        """Save as ID3v2.``id3_version``; a tag left empty in a file that had none is removed."""
        if drop_if_empty and not audio.tags.keys():
            audio.tags.delete(target)
        else:
            audio.tags.save(target, v2_version=id3_version)
