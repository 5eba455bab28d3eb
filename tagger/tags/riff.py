"""The chunk layout of WAV (RIFF) and AIFF (FORM) files: checked before a tag write, compared after
it, and the RIFF ``LIST``/``INFO`` chunk that Windows and FFmpeg-based players read tags from.

A header can lie: a file cut short still declares its full ``data`` chunk, and a tag appended at
the declared end would then sit inside the audio. So a write goes ahead only when every chunk fits
the file and the container size matches the file size, and the prepared copy must hold the same
format and audio chunks, byte for byte, as the original.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tagger.tags.base import DamagedFile

#: RIFF INFO item ids for the fields the tagger reads (a ``ZSTR``: text, then a NUL).
INFO_TEXT = {"title": b"INAM", "artist": b"IART", "album": b"IPRD"}
INFO_GENRE = b"IGNR"

_BLOCK = 1 << 20


@dataclass(frozen=True)
class _Kind:
    name: str  # as the user knows the format
    magic: bytes
    forms: tuple[bytes, ...]
    order: str  # struct byte order of sizes
    fixed: tuple[bytes, ...]  # chunks a tag write must leave byte-identical (format, then audio)


_KINDS = (_Kind("WAV", b"RIFF", (b"WAVE",), "<", (b"fmt ", b"data")),
          _Kind("AIFF", b"FORM", (b"AIFF", b"AIFC"), ">", (b"COMM", b"SSND")))


@dataclass(frozen=True)
class Chunk:
    id: bytes
    offset: int  # of the 8-byte header
    size: int  # declared payload size

    @property
    def data_offset(self) -> int:
        return self.offset + 8

    @property
    def end(self) -> int:
        """Where the next chunk starts (payloads of odd size are followed by one pad byte)."""
        return self.data_offset + self.size + (self.size & 1)


@dataclass(frozen=True)
class Layout:
    kind: _Kind
    file_size: int
    chunks: tuple[Chunk, ...]

    def find(self, chunk_id: bytes) -> Chunk | None:
        return next((c for c in self.chunks if c.id == chunk_id), None)


def _kind_of(head: bytes) -> _Kind | None:
    """The container kind a file's first 12 bytes announce, if any."""
    return next((k for k in _KINDS if len(head) == 12 and head[:4] == k.magic and head[8:12] in k.forms), None)


def _name(chunk_id: bytes) -> str:
    """A chunk id fit for a one-line message, whatever bytes a damaged file holds there."""
    return "".join(c if c.isprintable() else "?" for c in chunk_id.decode("latin-1")).strip()


def _walk(handle: BinaryIO, kind: _Kind, start: int, stop: int) -> Iterator[Chunk]:
    """The chunks between ``start`` and ``stop``, as their headers declare them."""
    offset = start
    while offset + 8 <= stop:
        handle.seek(offset)
        chunk_id, size = struct.unpack(kind.order + "4sI", handle.read(8))
        chunk = Chunk(chunk_id, offset, size)
        yield chunk
        offset = chunk.end


def layout(path: Path) -> Layout:
    """The checked chunk layout of a WAV or AIFF file; ``DamagedFile`` says why a file fails.

    Every chunk must fit inside the file (the last one may lack its pad byte), nothing may follow
    the last chunk, the container size must match the file size, and the format and audio chunks
    must be present.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        size = handle.seek(0, 2)
        kind = _kind_of(head)
        if kind is None:
            raise DamagedFile(path, "not a RIFF WAV or AIFF file")
        chunks = tuple(_walk(handle, kind, 12, size))
    for chunk in chunks:
        if chunk.data_offset + chunk.size > size:
            raise DamagedFile(path, f"truncated {kind.name}: {_name(chunk.id)} chunk declares "
                                    f"{chunk.size} bytes, file has {size - chunk.data_offset}")
    walked = chunks[-1].end if chunks else 12
    if walked not in (size, size + 1):
        raise DamagedFile(path, f"damaged {kind.name}: {size - walked} stray bytes after the last chunk")
    declared = struct.unpack(kind.order + "I", head[4:8])[0]
    if declared != size - 8:
        raise DamagedFile(path, f"damaged {kind.name} header: {kind.magic.decode()} size says {declared} bytes, "
                                f"file has {size - 8}")
    for needed in kind.fixed:
        if not any(c.id == needed for c in chunks):
            raise DamagedFile(path, f"damaged {kind.name}: no {_name(needed)} chunk")
    return Layout(kind, size, chunks)


def check(path: Path) -> None:
    """``layout``'s checks for a file that starts like a WAV or AIFF file; others pass."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    if _kind_of(head) is not None:
        layout(path)


def _same_bytes(a: BinaryIO, b: BinaryIO, a_chunk: Chunk, b_chunk: Chunk) -> bool:
    if a_chunk.size != b_chunk.size:
        return False
    a.seek(a_chunk.data_offset)
    b.seek(b_chunk.data_offset)
    left = a_chunk.size
    while left:
        n = min(left, _BLOCK)
        if a.read(n) != b.read(n):
            return False
        left -= n
    return True


def check_same_audio(original: Path, prepared: Path) -> None:
    """Raise ``DamagedFile`` unless ``prepared`` is well formed and holds the same format and audio
    chunks as ``original``, byte for byte: the proof that a tag write left the sound alone."""
    before, after = layout(original), layout(prepared)
    with open(original, "rb") as a, open(prepared, "rb") as b:
        for chunk_id in before.kind.fixed:
            old, new = before.find(chunk_id), after.find(chunk_id)
            if new is None or not _same_bytes(a, b, old, new):
                raise DamagedFile(original, f"the {_name(chunk_id)} chunk would change; "
                                            "the file was left as it was")


# --- RIFF INFO -----------------------------------------------------------------------------------

def _info_chunk(handle: BinaryIO, chunks: tuple[Chunk, ...]) -> Chunk | None:
    for chunk in chunks:
        if chunk.id == b"LIST" and chunk.size >= 4:
            handle.seek(chunk.data_offset)
            if handle.read(4) == b"INFO":
                return chunk
    return None


def _items(payload: bytes) -> list[tuple[bytes, bytes]]:
    """The (id, raw value) items of an INFO list payload (after ``INFO``), in file order."""
    items, offset = [], 0
    while offset + 8 <= len(payload):
        item_id, size = struct.unpack("<4sI", payload[offset:offset + 8])
        items.append((item_id, payload[offset + 8:offset + 8 + size]))
        offset += 8 + size + (size & 1)
    return items


def _pack(items: list[tuple[bytes, bytes]]) -> bytes:
    return b"INFO" + b"".join(struct.pack("<4sI", i, len(v)) + v + b"\0" * (len(v) & 1) for i, v in items)


def read_info(path: Path) -> dict[bytes, bytes] | None:
    """The raw items of the WAV file's ``LIST``/``INFO`` chunk, in file order; ``None`` when it has none.

    Reading is lenient (chunks that run past the end are ignored): reading never changes a file.
    """
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        kind = _KINDS[0]
        chunks = tuple(c for c in _walk(handle, kind, 12, size) if c.data_offset + c.size <= size)
        chunk = _info_chunk(handle, chunks)
        if chunk is None:
            return None
        handle.seek(chunk.data_offset + 4)
        return dict(_items(handle.read(chunk.size - 4)))


def info_text(raw: bytes | None) -> str | None:
    """An INFO value as text: NUL-terminated, UTF-8 as FFmpeg writes it, else Latin-1."""
    if raw is None:
        return None
    raw = raw.split(b"\0", 1)[0]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.strip() or None


def info_value(text: str) -> bytes:
    return text.encode("utf-8") + b"\0"


def _splice(handle: BinaryIO, start: int, end: int, new: bytes) -> None:
    """Replace bytes ``start:end`` of the open file with ``new``, moving everything after them."""
    size = handle.seek(0, 2)
    delta = len(new) - (end - start)
    if delta > 0:  # grow: move the tail back to front so nothing is overwritten before it is read
        pos = size
        while pos > end:
            n = min(_BLOCK, pos - end)
            pos -= n
            handle.seek(pos)
            block = handle.read(n)
            handle.seek(pos + delta)
            handle.write(block)
    elif delta < 0:
        pos = end
        while pos < size:
            handle.seek(pos)
            block = handle.read(min(_BLOCK, size - pos))
            handle.seek(pos + delta)
            handle.write(block)
            pos += len(block)
        handle.truncate(size + delta)
    handle.seek(start)
    handle.write(new)


def set_info(path: Path, item_id: bytes, value: bytes | None, *, drop_if_empty: bool, at: int | None = None) -> None:
    """Set (or with ``None`` remove) one INFO item of the WAV file at ``path``, in place.

    Other items keep their bytes and order; a new item goes to position ``at`` (default last), a
    new ``LIST`` chunk last in the file. With ``drop_if_empty`` a list left with no items is
    removed. ``path`` must be a prepared copy (this moves bytes in place) of a file ``layout`` accepted.
    """
    found = layout(path)
    with open(path, "r+b") as handle:
        chunk = _info_chunk(handle, found.chunks)
        if chunk is None:
            if value is None:
                return
            items: list[tuple[bytes, bytes]] = []
            start = end = found.chunks[-1].end
        else:
            handle.seek(chunk.data_offset + 4)
            items = _items(handle.read(chunk.size - 4))
            start, end = chunk.offset, min(chunk.end, found.file_size)
        index = next((i for i, (key, _) in enumerate(items) if key == item_id), None)
        if value is None and index is not None:
            del items[index]
        elif value is not None and index is None:
            items.insert(len(items) if at is None else at, (item_id, value))
        elif value is not None:
            items[index] = (item_id, value)
        if chunk is not None and not items and drop_if_empty:
            new = b""
        else:
            payload = _pack(items)
            new = struct.pack("<4sI", b"LIST", len(payload)) + payload
        if start > found.file_size:  # the last chunk lacks its pad byte: add it before appending
            new = b"\0" + new
            start = end = found.file_size
        _splice(handle, start, end, new)
        size = handle.seek(0, 2)
        handle.seek(4)
        handle.write(struct.pack("<I", size - 8))
