"""Vorbis comments: FLAC, Ogg Vorbis and Ogg Opus. Each genre is its own GENRE field."""

from __future__ import annotations

from pathlib import Path

from mutagen import FileType
from mutagen.flac import FLAC
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from tagger.tags.base import GenreState, TagFamily, joined


def _values(audio: FileType, key: str) -> list[str] | None:
    """All values of ``key`` (field names are case-insensitive); ``None`` when absent."""
    if audio.tags is None or key not in audio.tags:
        return None
    return list(audio.tags[key])


class VorbisFamily(TagFamily):
    file_types = {FLAC: "flac", OggVorbis: "ogg", OggOpus: "opus"}

    def text(self, audio: FileType, name: str) -> str | None:
        return joined(_values(audio, name))

    def genres(self, audio: FileType) -> list[str]:
        return [v for v in _values(audio, "genre") or [] if v]

    def genre_state(self, audio: FileType) -> GenreState:
        return {"GENRE": _values(audio, "genre")}

    def set_genres(self, audio: FileType, genres: list[str], target: Path, id3_version: int) -> None:
        self.restore(audio, {"GENRE": genres or None}, target)

    def restore(self, audio: FileType, state: GenreState, target: Path) -> None:
        if audio.tags is None:
            audio.add_tags()
        if state["GENRE"] is not None:
            audio.tags["GENRE"] = list(state["GENRE"])
        elif "genre" in audio.tags:
            del audio.tags["genre"]
        audio.save(target)
