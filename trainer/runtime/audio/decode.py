"""Decode any supported audio file to mono float32 at a requested sample rate.

soundfile (libsndfile) reads WAV, FLAC, Ogg Vorbis, Opus, MP3 and AIFF quickly; M4A/AAC and
anything libsndfile refuses go through torchcodec (FFmpeg). Both paths give the file's native
rate, and a single resampler (soxr, the same one ``librosa.load`` uses by default) brings every
format to the rate the model was trained at, so no format gets a different resampling.

Files are decoded in blocks of ``BLOCK_S`` seconds and resampled as a stream, so
``decode_windows`` holds only the samples its windows use: memory is bounded by the window cap,
not by the track's length. A file that stops early (cut short, or damaged partway) gives the
audio before the damage and is marked ``truncated``; a file that gives no audio at all is refused
with what it really is (``trainer.runtime.audio.sniff``), never a decoder's internal message.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from trainer.runtime.audio.sniff import sniff, truncation, why_undecodable
from trainer.runtime.audio.windows import (
    Windows,
    WindowSpec,
    plan_windows,
    windows_from,
)
from trainer.runtime.errors import UserError

AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".wav", ".aif", ".aiff", ".au"}
)
#: Seconds of audio libsndfile decodes at a time: a damaged stream loses at most this much before the damage.
BLOCK_S = 2.0
#: Seconds FFmpeg decodes at a time. Each range is a seek, and AAC decoded from a seek differs from
#: the continuous decode for its first frames; ranges this long come out sample-identical.
FFMPEG_BLOCK_S = 30.0
#: A file decoding to less than this share of the length its header declares is truncated.
_DECLARED_SHARE = 0.98


class UnreadableAudio(UserError):
    """A file that cannot be decoded; ``reason`` is a short sentence for the user."""

    path: Path

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(reason, path)


@dataclass(frozen=True)
class DecodedAudio:
    """Mono float32 samples at ``sample_rate``; ``source_rate`` and ``channels`` describe the file;
    ``truncated``: the file ends (or breaks off) before its header says it does."""

    samples: np.ndarray
    sample_rate: int
    source_rate: int
    channels: int
    truncated: bool = False

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class DecodedWindows:
    """The windows of a track, with the facts of the whole decoded track."""

    windows: Windows
    duration_s: float  # what decodes, not what the header claims
    truncated: bool
    source_rate: int
    channels: int


class _Source:
    """An open decoder: native rate, channels, the length its header declares (frames, if any),
    and ``blocks()``, which yields (frames, channels) float32 arrays and stops at a decode error,
    recording it in ``broke_off``."""

    def __init__(self, rate: int, channels: int, declared: int | None, blocks: Iterator[np.ndarray]) -> None:
        self.rate, self.channels, self.declared = rate, channels, declared
        self._blocks = blocks
        self.broke_off = False

    def blocks(self) -> Iterator[np.ndarray]:
        try:
            yield from self._blocks
        except Exception:  # noqa: BLE001 - any decoder error partway: keep the audio before it
            self.broke_off = True


def _soundfile(path: Path) -> _Source:
    handle = sf.SoundFile(os.fsencode(path))  # bytes: a name that is not UTF-8 opens too

    def blocks() -> Iterator[np.ndarray]:
        with handle:
            while len(block := handle.read(int(BLOCK_S * handle.samplerate), dtype="float32", always_2d=True)):
                yield block

    return _Source(int(handle.samplerate), int(handle.channels), int(handle.frames) or None, blocks())


def _ffmpeg(path: Path) -> _Source:
    from torchcodec.decoders import (
        AudioDecoder,  # imported lazily: FFmpeg libraries load slowly
    )

    handle = None
    try:
        os.fsdecode(path).encode("utf-8")
        decoder = AudioDecoder(str(path))
    except UnicodeEncodeError:  # FFmpeg takes names as UTF-8 text: hand it the open file instead
        handle = open(path, "rb")  # noqa: SIM115 - the decoder reads it until blocks() ends
        decoder = AudioDecoder(handle)
    meta = decoder.metadata
    rate = int(meta.sample_rate)
    declared = meta.duration_seconds_from_header

    def blocks() -> Iterator[np.ndarray]:
        start = 0.0
        try:
            while True:
                try:
                    chunk = decoder.get_samples_played_in_range(start, start + FFMPEG_BLOCK_S)
                except RuntimeError as exc:
                    if "No audio frame" in str(exc):  # past the last frame: the end, not damage
                        return
                    raise
                if chunk.data.shape[1] == 0:
                    return
                yield chunk.data.numpy().T.astype(np.float32, copy=False)
                start += FFMPEG_BLOCK_S
        finally:
            if handle is not None:
                handle.close()

    return _Source(rate, int(meta.num_channels or 1), int(declared * rate) if declared else None, blocks())


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def unreachable(path: Path, exc: OSError) -> str:
    """Why ``path`` cannot even be looked at: a link loop, a link to nothing, no such file."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(exc, FileNotFoundError):
        return f"broken symbolic link (its target {os.readlink(path)!r} does not exist)" if path.is_symlink() \
            else "file not found"
    return f"cannot read: {exc.strerror or exc}"


def not_regular(mode: int) -> str:
    """The reason for a path whose ``st_mode`` is not a regular file's."""
    return f"not a regular file ({_KINDS.get(stat.S_IFMT(mode), 'special')})"


def _check(path: Path) -> None:
    """Refuse, before any decoder opens it, what no decoder should: a FIFO or device (opening one
    blocks), an empty file, and a file whose content is plainly not audio."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise UnreadableAudio(path, unreachable(path, exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableAudio(path, not_regular(info.st_mode))
    if info.st_size == 0:
        raise UnreadableAudio(path, "empty file (0 bytes)")
    try:
        found = sniff(path)
    except OSError as exc:
        raise UnreadableAudio(path, f"cannot read: {exc.strerror}") from None
    if found.kind is None and found.what != "unrecognised data":
        raise UnreadableAudio(path, f"{found.what}, not audio")


def _sources(path: Path) -> Iterator[tuple[_Source, Callable[[Path], _Source]]]:
    """Each decoder that opens ``path`` (in order of preference), with the reader that opened it."""
    for reader in (_soundfile, _ffmpeg):
        try:
            yield reader(path), reader
        except Exception:  # noqa: BLE001 - each backend raises its own types; the caller says what the file is
            continue


def _mono(source: _Source, sample_rate: int, path: Path) -> Iterator[np.ndarray]:
    """The source's blocks as mono float32 at ``sample_rate`` (channels averaged, like librosa)."""
    resampler = None if source.rate == sample_rate else soxr.ResampleStream(
        source.rate, sample_rate, 1, dtype="float32", quality="HQ")
    for block in source.blocks():
        mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
        if not np.all(np.isfinite(mono)):
            raise UnreadableAudio(path, "audio contains non-finite samples")
        yield mono if resampler is None else resampler.resample_chunk(mono)
    if resampler is not None:
        yield resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)


def _truncated(source: _Source, frames_at_rate: int, sample_rate: int, path: Path) -> bool:
    short = source.declared is not None and frames_at_rate < _DECLARED_SHARE * source.declared * sample_rate / source.rate
    return source.broke_off or short or truncation(path) is not None


def decode(path: Path | str, sample_rate: int) -> DecodedAudio:
    """Decode all of ``path`` to mono float32 at ``sample_rate`` Hz.

    Raises ``UnreadableAudio`` with a reason for missing, empty, non-audio or undecodable files.
    """
    path = Path(path)
    _check(path)
    for source, _ in _sources(path):
        blocks = [b for b in _mono(source, sample_rate, path) if len(b)]
        if blocks:
            samples = np.concatenate(blocks)
            return DecodedAudio(samples, sample_rate, source.rate, source.channels,
                                _truncated(source, len(samples), sample_rate, path))
    raise UnreadableAudio(path, why_undecodable(path))


def decodable_duration(path: Path | str) -> float:
    """Seconds of audio that really decode from ``path`` (a truncated file's header claims more);
    one pass at the native rate, a block at a time. Raises ``UnreadableAudio`` like ``decode``."""
    path = Path(path)
    _check(path)
    for source, _ in _sources(path):
        frames = sum(len(block) for block in source.blocks())
        if frames:
            return frames / source.rate
    raise UnreadableAudio(path, why_undecodable(path))


def _collect(source: _Source, sample_rate: int, path: Path, ranges: list[tuple[int, int]],
             keep_last: int) -> tuple[dict[tuple[int, int], np.ndarray], np.ndarray, int]:
    """One pass over the audio keeping only ``ranges`` (complete ones, by range) and the last
    ``keep_last`` samples; returns them with the number of samples decoded."""
    parts: list[list[np.ndarray]] = [[] for _ in ranges]
    tail: list[np.ndarray] = []
    tail_len = offset = 0
    for block in _mono(source, sample_rate, path):
        end = offset + len(block)
        for (start, stop), part in zip(ranges, parts):
            if start < end and stop > offset:
                part.append(block[max(start, offset) - offset:min(stop, end) - offset])
        if keep_last:
            tail.append(block)
            tail_len += len(block)
            while tail_len - len(tail[0]) >= keep_last:
                tail_len -= len(tail.pop(0))
        offset = end
    pieces = {r: np.concatenate(p) for r, p in zip(ranges, parts) if p}
    complete = {r: piece for r, piece in pieces.items() if len(piece) == r[1] - r[0]}
    last = np.concatenate(tail)[-keep_last:] if tail else np.zeros(0, dtype=np.float32)
    return complete, last, offset


def decode_windows(path: Path | str, sample_rate: int, spec: WindowSpec = WindowSpec()) -> DecodedWindows:
    """The windows ``spec`` takes from ``path`` at ``sample_rate``, decoding only what they use.

    Windows are planned from the length the header declares; when the audio turns out shorter or
    longer and the plan changes, the missing windows come from the last window's worth of samples
    kept on the way, or from a second pass. Raises ``UnreadableAudio`` like ``decode``.
    """
    path = Path(path)
    _check(path)
    length = int(round(spec.length_s * sample_rate))
    for source, reader in _sources(path):
        estimate = round(source.declared * sample_rate / source.rate) if source.declared else 0
        got, last, n = _collect(source, sample_rate, path, plan_windows(estimate, sample_rate, spec), length)
        if n == 0:
            continue
        ranges = plan_windows(n, sample_rate, spec)
        kept_from = n - len(last)
        pieces = [got[r] if r in got else last[r[0] - kept_from:r[1] - kept_from] if r[0] >= kept_from else None
                  for r in ranges]
        truncated = _truncated(source, n, sample_rate, path)
        if any(piece is None for piece in pieces):  # the plan moved: read again for the new windows
            got, _, _ = _collect(reader(path), sample_rate, path, ranges, 0)
            pieces = [got.get(r, np.zeros(0, dtype=np.float32)) for r in ranges]
        return DecodedWindows(windows_from(pieces, ranges, sample_rate, length), n / sample_rate, truncated,
                              source.rate, source.channels)
    raise UnreadableAudio(path, why_undecodable(path))
