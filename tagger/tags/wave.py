"""WAV files carry two tag systems: an ID3 chunk (what mutagen and most taggers read) and the RIFF
``LIST``/``INFO`` chunk (what Windows and FFmpeg-based players read). The genre is written to both,
as ID3 ``TCON`` and INFO ``IGNR`` (several genres joined by "; "). Reading prefers ID3 and falls back
to INFO; the undo state holds both, so undo puts each back exactly, absence included.
"""

from __future__ import annotations

from pathlib import Path

from mutagen import FileType
from mutagen.wave import WAVE

from tagger.tags import riff
from tagger.tags.base import GenreState
from tagger.tags.id3 import ID3Family


def _info(audio: FileType) -> dict[bytes, bytes]:
    return riff.read_info(Path(audio.filename)) or {}


class WaveFamily(ID3Family):
    file_types = {WAVE: "wav"}

    def text(self, audio: FileType, name: str) -> str | None:
        return super().text(audio, name) or riff.info_text(_info(audio).get(riff.INFO_TEXT[name]))

    def genres(self, audio: FileType) -> list[str]:
        if audio.tags is not None and "TCON" in audio.tags:
            return super().genres(audio)
        text = riff.info_text(_info(audio).get(riff.INFO_GENRE))
        return [part.strip() for part in (text or "").split(";") if part.strip()]

    def genre_state(self, audio: FileType) -> GenreState:
        info = riff.read_info(Path(audio.filename))
        if info is None:
            return super().genre_state(audio) | {"INFO": None}
        raw = info.get(riff.INFO_GENRE)
        # raw bytes as Latin-1 text: JSON-safe and exactly reversible; "at": its place in the list
        return super().genre_state(audio) | {"INFO": {"IGNR": None if raw is None else raw.decode("latin-1"),
                                                      "at": None if raw is None else list(info).index(riff.INFO_GENRE)}}

    def set_genres(self, audio: FileType, genres: list[str], target: Path, id3_version: int) -> None:
        super().set_genres(audio, genres, target, id3_version)
        value = riff.info_value("; ".join(genres)) if genres else None
        riff.set_info(target, riff.INFO_GENRE, value, drop_if_empty=False)

    def restore(self, audio: FileType, state: GenreState, target: Path) -> None:
        super().restore(audio, state, target)
        if "INFO" not in state:  # a state journaled before INFO was written: INFO was not touched then
            return
        info = state["INFO"]
        raw = None if info is None or info["IGNR"] is None else info["IGNR"].encode("latin-1")
        riff.set_info(target, riff.INFO_GENRE, raw, drop_if_empty=info is None, at=None if info is None else info["at"])
