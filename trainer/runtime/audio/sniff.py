"""What a file really is, from its first bytes: the words for a file that does not decode.

Decoders fail with their own internal texts ("can't sync to MPEG frame", build paths); the user
needs to hear that the ``.ogg`` is a PNG image, that the ``.mp3`` is FLAC audio, or that the file
stops at half of the size its header declares.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

#: audio kinds by file extension; kinds sharing a container are compatible with each other
EXTENSION_KINDS = {
    ".mp3": "mp3", ".flac": "flac", ".ogg": "ogg", ".oga": "ogg", ".opus": "ogg", ".m4a": "mp4",
    ".mp4": "mp4", ".aac": "mp4", ".wav": "wav", ".aif": "aiff", ".aiff": "aiff", ".au": "au",
}
_AUDIO_NAMES = {"wav": "WAV", "aiff": "AIFF", "flac": "FLAC", "ogg": "Ogg", "opus": "Opus", "mp3": "MP3",
                "mp4": "MP4/AAC", "adts": "AAC", "au": "Sun AU"}
_COMPATIBLE = {"opus": "ogg", "adts": "mp4"}
_NOT_AUDIO = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"), (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "a program"), (b"SQLite format 3\x00", "an SQLite database"), (b"BM", "a BMP image"),
)
_HEAD = 4096


@dataclass(frozen=True)
class Sniffed:
    """``kind``: the audio format found (``None`` when not audio); ``what``: it in words;
    ``declared_size``: the bytes the container's header says the file holds, when it says."""

    kind: str | None
    what: str
    declared_size: int | None = None


def _riff_like(handle: BinaryIO, head: bytes, fmt: str) -> int | None:
    """Bytes a RIFF (little-endian) or IFF (big-endian) file declares: the outer chunk's length, or
    the end of its audio chunk when that lies further (a header that lies about its data)."""
    order = "<" if fmt == "wav" else ">"
    outer = struct.unpack(order + "I", head[4:8])[0]
    declared = outer + 8 if 0 < outer < 0xFFFFFFF0 else None
    audio_chunk = b"data" if fmt == "wav" else b"SSND"
    offset = 12
    while True:
        handle.seek(offset)
        header = handle.read(8)
        if len(header) < 8:
            return declared
        length = struct.unpack(order + "I", header[4:])[0]
        if header[:4] == audio_chunk:
            return max(declared or 0, offset + 8 + length) if length < 0xFFFFFFF0 else declared
        offset += 8 + length + (length & 1)


def _mp4_declared(handle: BinaryIO, size: int) -> int | None:
    """The end of the last top-level MP4 box, when the boxes run past the end of the file."""
    offset = 0
    while offset < size:
        handle.seek(offset)
        header = handle.read(16)
        if len(header) < 8:
            break
        length = struct.unpack(">I", header[:4])[0]
        if length == 1 and len(header) == 16:
            length = struct.unpack(">Q", header[8:])[0]
        if length < 8:  # 0: "to the end of the file"; smaller: damaged, nothing more to learn
            return None
        offset += length
    return offset if offset > size else None


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # only a character cut by the 4 KB read may be incomplete
            return False
        text = head[:exc.start].decode("utf-8")
    return sum(c.isprintable() or c in "\t\r\n" for c in text) >= 0.95 * len(text)


def _mpeg_kind(head: bytes) -> str | None:
    """``mp3`` for an MPEG audio frame header, ``adts`` for raw AAC, at the start of ``head``."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    layer = (head[1] >> 1) & 3
    if layer == 0:
        return "adts" if head[1] & 0xF0 == 0xF0 else None
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return "mp3" if bitrate not in (0, 15) and rate != 3 else None


def sniff(path: Path | str) -> Sniffed:
    """What ``path`` holds, judged by its content only (never by its name)."""
    with open(path, "rb") as handle:
        return _sniff(handle, os.fstat(handle.fileno()).st_size)


def _sniff(handle: BinaryIO, size: int) -> Sniffed:
    head = handle.read(_HEAD)
    if size == 0:
        return Sniffed(None, "an empty file")
    if head.startswith(b"ID3") and len(head) >= 10:  # an ID3 tag can sit before MP3 and FLAC alike
        skip = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10])) + (10 if head[5] & 0x10 else 0)
        handle.seek(skip)
        kind = "flac" if handle.read(4) == b"fLaC" else "mp3"
        return Sniffed(kind, f"{_AUDIO_NAMES[kind]} audio", skip if skip > size else None)
    if head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE":
        return Sniffed("wav", "WAV audio", _riff_like(handle, head, "wav"))
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return Sniffed("aiff", "AIFF audio", _riff_like(handle, head, "aiff"))
    if head.startswith(b"fLaC"):
        return Sniffed("flac", "FLAC audio")
    if head.startswith(b"OggS"):
        kind = "opus" if b"OpusHead" in head[:128] else "ogg"
        return Sniffed(kind, f"{_AUDIO_NAMES[kind]} audio")
    if head[4:8] == b"ftyp":
        return Sniffed("mp4", "MP4/AAC audio", _mp4_declared(handle, size))
    if head.startswith(b".snd"):
        return Sniffed("au", "Sun AU audio")
    if (kind := _mpeg_kind(head)) is not None:
        return Sniffed(kind, f"{_AUDIO_NAMES[kind]} audio")
    if head[:4] == b"RIFF":
        return Sniffed(None, f"a RIFF {head[8:12].decode('latin-1').strip() or 'file'} file")
    for magic, what in _NOT_AUDIO:
        if head.startswith(magic):
            return Sniffed(None, what)
    if _is_text(head):
        return Sniffed(None, "a text file")
    return Sniffed(None, "unrecognised data")


def truncation(path: Path | str, found: Sniffed | None = None) -> tuple[int, int] | None:
    """``(bytes present, bytes declared)`` when the file ends before its header says it does."""
    found = found or sniff(path)
    size = os.stat(path).st_size
    return (size, found.declared_size) if found.declared_size and found.declared_size > size else None


def misnamed(path: Path | str, found: Sniffed) -> str | None:
    """``"FLAC audio with an .mp3 extension"`` when the content is audio of another kind."""
    suffix = Path(path).suffix.lower()
    named = EXTENSION_KINDS.get(suffix)
    if found.kind is None or named is None or _COMPATIBLE.get(found.kind, found.kind) == named:
        return None
    article = "an" if suffix[1:2] in ("a", "e", "i", "o", "u") or suffix[1:3] in ("mp", "m4") else "a"  # an .mp3
    return f"{found.what} with {article} {suffix} extension"


def why_undecodable(path: Path | str) -> str:
    """One sentence for a file no decoder could read: what it really is, or how it is damaged."""
    found = sniff(path)
    if found.kind is None:
        if found.what == "unrecognised data":
            return "not a readable audio file (no known audio header: raw or damaged data)"
        return "empty file (0 bytes)" if found.what == "an empty file" else f"{found.what}, not audio"
    if (cut := truncation(path, found)) is not None:
        return f"truncated: {cut[0]:,} of {cut[1]:,} bytes"
    named = misnamed(path, found)
    return f"{named}, and it does not decode" if named else f"damaged or cut-short {found.what}: no audio decodes"
