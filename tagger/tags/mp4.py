"""MP4/M4A atoms. Genres are the ``©gen`` text atom; mutagen reads the old numeric ``gnre`` atom
as ``©gen`` too, so a write replaces both with the text form."""

from __future__ import annotations

from pathlib import Path

from mutagen import FileType
from mutagen.mp4 import MP4

from tagger.tags.base import GenreState, TagFamily, joined

_GENRE = "\xa9gen"
_TEXT_ATOMS = {"title": "\xa9nam", "artist": "\xa9ART", "album": "\xa9alb"}


def _values(audio: FileType, key: str) -> list[str] | None:
    if audio.tags is None or key not in audio.tags:
        return None
    return [str(v) for v in audio.tags[key]]


class MP4Family(TagFamily):
    file_types = {MP4: "m4a"}

    def text(self, audio: FileType, name: str) -> str | None:
        return joined(_values(audio, _TEXT_ATOMS[name]))

    def genres(self, audio: FileType) -> list[str]:
        return [v for v in _values(audio, _GENRE) or [] if v]

    def genre_state(self, audio: FileType) -> GenreState:
        return {_GENRE: _values(audio, _GENRE)}

    def set_genres(self, audio: FileType, genres: list[str], target: Path, id3_version: int) -> None:
        self.restore(audio, {_GENRE: genres or None}, target)

    def restore(self, audio: FileType, state: GenreState, target: Path) -> None:
        if audio.tags is None:
            audio.add_tags()
        if state[_GENRE] is not None:
            audio.tags[_GENRE] = list(state[_GENRE])
        else:
            audio.tags.pop(_GENRE, None)
        audio.save(target)
