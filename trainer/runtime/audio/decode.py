"""Decode any supported audio file to mono float32 at a requested sample rate.

soundfile (libsndfile) reads WAV, FLAC, Ogg Vorbis, Opus, MP3 and AIFF quickly; M4A/AAC and
anything libsndfile refuses go through torchcodec (FFmpeg). Both paths give the file's native
rate, and a single resampler (soxr, the same one ``librosa.load`` uses by default) brings every
format to the rate the model was trained at, so no format gets a different resampling.

``decode_windows`` reads only the time ranges its windows use: formats libsndfile reads (WAV,
FLAC, Ogg, Opus, MP3, AIFF) seek sample-exactly, and each range is resampled from a little before
to a little after it (``SETTLE_S``), from a point on the common grid of the two rates, so its
samples equal a whole-file decode's. FFmpeg's AAC decode differs after a seek for up to seconds,
so files libsndfile cannot read, and any file whose length cannot be trusted (truncated, no
declared length), are decoded from the start in blocks of ``BLOCK_S`` seconds, resampled as a
stream, keeping only what the windows use: memory is bounded by the window cap, not by the
track's length. A file that stops early (cut short, or damaged partway) gives the
audio before the damage and is marked ``truncated``; a file that gives no audio at all is refused
with what it really is (``trainer.runtime.audio.sniff``), never a decoder's internal message.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from trainer.runtime.audio.sniff import Sniffed, sniff, truncation, why_undecodable
from trainer.runtime.audio.windows import (
    Windows,
    WindowSpec,
    choose_windows,
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
#: Seconds decoded and resampled on each side of a range read by seeking: the resampler's filter
#: is far shorter, so the range's samples come out as in a decode of the whole file.
SETTLE_S = 0.25
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


def _check(path: Path) -> Sniffed:
    """Refuse, before any decoder opens it, what no decoder should: a FIFO or device (opening one
    blocks), an empty file, and a file whose content is plainly not audio; say what the rest is."""
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
    return found


def _sources(path: Path, found: Sniffed) -> Iterator[tuple[_Source, Callable[[Path], _Source]]]:
    """Each decoder that opens ``path`` (in order of preference), with the reader that opened it.
    FFmpeg only gets content with an audio format's header: libsndfile already reads an MP3 behind
    junk, and loading FFmpeg's libraries (torch with them) for data with no header, a damaged
    file's usual state, costs each worker seconds and a gigabyte to learn nothing."""
    for reader in (_soundfile, _ffmpeg) if found.kind is not None else (_soundfile,):
        try:
            yield reader(path), reader
        except Exception:  # noqa: BLE001 - each backend raises its own types; the caller says what the file is
            continue


def _to_mono(block: np.ndarray, path: Path) -> np.ndarray:
    """A (frames, channels) block as mono float32 (channels averaged, like librosa)."""
    mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
    if not np.all(np.isfinite(mono)):
        raise UnreadableAudio(path, "audio contains non-finite samples")
    return mono


def _resampler(source_rate: int, sample_rate: int) -> soxr.ResampleStream:
    return soxr.ResampleStream(source_rate, sample_rate, 1, dtype="float32", quality="HQ")


def _mono(source: _Source, sample_rate: int, path: Path) -> Iterator[np.ndarray]:
    """The source's blocks as mono float32 at ``sample_rate``."""
    resampler = None if source.rate == sample_rate else _resampler(source.rate, sample_rate)
    for block in source.blocks():
        mono = _to_mono(block, path)
        yield mono if resampler is None else resampler.resample_chunk(mono)
    if resampler is not None:
        yield resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)


def _truncated(source: _Source, frames_at_rate: int, sample_rate: int, path: Path, found: Sniffed) -> bool:
    short = source.declared is not None and frames_at_rate < _DECLARED_SHARE * source.declared * sample_rate / source.rate
    return source.broke_off or short or truncation(path, found) is not None


def decode(path: Path | str, sample_rate: int) -> DecodedAudio:
    """Decode all of ``path`` to mono float32 at ``sample_rate`` Hz.

    Raises ``UnreadableAudio`` with a reason for missing, empty, non-audio or undecodable files.
    """
    path = Path(path)
    found = _check(path)
    for source, _ in _sources(path, found):
        blocks = [b for b in _mono(source, sample_rate, path) if len(b)]
        if blocks:
            samples = np.concatenate(blocks)
            return DecodedAudio(samples, sample_rate, source.rate, source.channels,
                                _truncated(source, len(samples), sample_rate, path, found))
    raise UnreadableAudio(path, why_undecodable(path))


def decodable_duration(path: Path | str) -> float:
    """Seconds of audio that really decode from ``path`` (a truncated file's header claims more);
    one pass at the native rate, a block at a time. Raises ``UnreadableAudio`` like ``decode``."""
    path = Path(path)
    found = _check(path)
    for source, _ in _sources(path, found):
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


def _read_range(handle: sf.SoundFile, frames: int, start: int, stop: int, sample_rate: int,
                path: Path) -> np.ndarray:
    """Samples ``start:stop`` at ``sample_rate`` of the open file of ``frames`` frames, by seeking.

    Resampled, a range is read from a point on the grid both rates share (where output sample
    ``j0`` falls exactly on input frame ``s0``) ``SETTLE_S`` before it to ``SETTLE_S`` after it,
    so the resampler starts in step with a whole-file decode and has settled by ``start``.
    """
    rate = handle.samplerate
    if rate == sample_rate:
        handle.seek(start)
        return _to_mono(handle.read(stop - start, dtype="float32", always_2d=True), path)
    common = math.gcd(rate, sample_rate)
    step_in, step_out = rate // common, sample_rate // common
    settle = int(SETTLE_S * rate)
    k0 = max(0, (start * rate - settle * sample_rate) // (sample_rate * step_in))
    s0, j0 = k0 * step_in, k0 * step_out
    s1 = min(frames, -(-stop * rate // sample_rate) + settle)
    handle.seek(s0)
    resampler = _resampler(rate, sample_rate)
    out = [resampler.resample_chunk(_to_mono(handle.read(s1 - s0, dtype="float32", always_2d=True), path)),
           resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)]
    return np.concatenate(out)[start - j0:stop - j0]


def _seek_windows(path: Path, sample_rate: int, spec: WindowSpec, found: Sniffed) -> DecodedWindows | None:
    """The windows read by seeking to each of them; ``None`` when the file is not one to trust
    with that (libsndfile cannot read it, it declares no length or is shorter than it declares,
    it breaks partway), and the caller decodes it from the start instead."""
    try:
        handle = sf.SoundFile(os.fsencode(path))
    except Exception:  # noqa: BLE001 - not libsndfile's: FFmpeg decodes it from the start
        return None
    with handle:
        declared, rate = int(handle.frames), int(handle.samplerate)
        if declared <= 0 or not handle.seekable() or truncation(path, found) is not None:
            return None
        try:
            tail_from = max(0, declared - rate)  # the length is what decodes: read the last second to the end
            handle.seek(tail_from)
            frames = tail_from + len(handle.read(dtype="float32", always_2d=True))
            if frames < _DECLARED_SHARE * declared:
                return None
            n = -(-frames * sample_rate // rate)  # a streamed resampler's output length
            ranges, pieces = choose_windows(n, sample_rate, spec,
                                            lambda r: _read_range(handle, frames, r[0], r[1], sample_rate, path))
        except UnreadableAudio:
            raise
        except Exception:  # noqa: BLE001 - damaged partway: the streamed decode keeps what precedes the damage
            return None
    length = int(round(spec.length_s * sample_rate))
    return DecodedWindows(windows_from(pieces, ranges, sample_rate, length), n / sample_rate, False, rate,
                          int(handle.channels))


def decode_windows(path: Path | str, sample_rate: int, spec: WindowSpec = WindowSpec()) -> DecodedWindows:
    """The windows ``spec`` takes from ``path`` at ``sample_rate``, decoding only what they use.

    Where the format seeks sample-exactly, only the windows' ranges are read. Otherwise the file is
    decoded from the start with windows planned from the length the header declares; when the
    audio turns out shorter or longer and the plan changes, the missing windows come from the
    last window's worth of samples kept on the way, or from a second pass. Raises
    ``UnreadableAudio`` like ``decode``.
    """
    path = Path(path)
    found = _check(path)
    if (sought := _seek_windows(path, sample_rate, spec, found)) is not None:
        return sought
    length = int(round(spec.length_s * sample_rate))
    for source, reader in _sources(path, found):
        estimate = round(source.declared * sample_rate / source.rate) if source.declared else 0
        got, last, n = _collect(source, sample_rate, path, plan_windows(estimate, sample_rate, spec), length)
        if n == 0:
            continue
        truncated = _truncated(source, n, sample_rate, path, found)
        kept_from = n - len(last)
        got.update((r, last[r[0] - kept_from:r[1] - kept_from]) for r in plan_windows(n, sample_rate, spec)
                   if r not in got and r[0] >= kept_from)
        if missing := [r for r in plan_windows(n, sample_rate, spec) if r not in got]:  # the plan moved: read again
            got.update(_collect(reader(path), sample_rate, path, missing, 0)[0])

        def read(r: tuple[int, int], source_reader: Callable[[Path], _Source] = reader,
                 kept: dict[tuple[int, int], np.ndarray] = got) -> np.ndarray:
            """A planned range, or one a silent window gives way to (a pass of its own: rare)."""
            if r not in kept:
                kept.update(_collect(source_reader(path), sample_rate, path, [r], 0)[0])
            return kept.get(r, np.zeros(0, dtype=np.float32))

        ranges, pieces = choose_windows(n, sample_rate, spec, read)
        return DecodedWindows(windows_from(pieces, ranges, sample_rate, length), n / sample_rate, truncated,
                              source.rate, source.channels)
    raise UnreadableAudio(path, why_undecodable(path))
